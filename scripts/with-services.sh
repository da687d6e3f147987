#!/usr/bin/env bash
# Run a command with PostgreSQL, Redis and an IMAP server available.
#
# DATABASE_URL / REDIS_URL / TEST_MAILBOX_URL already set: they are used as they are.
# Otherwise throwaway servers are started on free loopback ports in a temp
# directory (PostgreSQL as an unprivileged user, since initdb refuses root)
# and stopped afterwards, also when the command fails. Missing Debian
# packages (postgresql, redis-server, chromium) are installed when root.
set -euo pipefail

workdir=""
redis_pidfile=""
dovecot_conf=""
pg_data=""
run_as=()
maria_pidfile=""
oidc_pid=""

cleanup() {
    local status=$?
    if [ -n "$pg_data" ] && [ -f "$pg_data/postmaster.pid" ]; then
        "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "$maria_pidfile" ] && [ -f "$maria_pidfile" ]; then
        kill "$(cat "$maria_pidfile")" 2>/dev/null || true
    fi
    [ -n "$oidc_pid" ] && kill "$oidc_pid" 2>/dev/null || true
    if [ -n "$redis_pidfile" ] && [ -f "$redis_pidfile" ]; then
        kill "$(cat "$redis_pidfile")" 2>/dev/null || true
    fi
    if [ -n "$dovecot_conf" ]; then
        doveadm -c "$dovecot_conf" stop >/dev/null 2>&1 || true
    fi
    [ -n "$workdir" ] && rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

apt_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing $* ..." >&2
        [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] \
            || apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        echo "Missing: $* (install them, or set DATABASE_URL / REDIS_URL)" >&2
        exit 1
    fi
}

# The servers that take seconds to start (PostgreSQL, MariaDB) start side by side, in the
# background; the command runs once every one of them is up (a failed start fails the run).
starting=()

workdir=$(mktemp -d /tmp/portal-test-XXXXXX)
chmod 755 "$workdir"

if [ -z "${DATABASE_URL:-}" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$PG_BIN" ]; then
        apt_install postgresql
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
        chown postgres "$workdir"
        run_as=(runuser -u postgres --)
    fi
    pg_data="$workdir/pg"
    pg_port=$(free_port)
    # Durability settings off (and no fsync of the new cluster): it lives for one test run.
    start_postgres() {
        "${run_as[@]}" "$PG_BIN/initdb" -D "$pg_data" -U postgres --auth=trust -E UTF8 \
            --no-locale --no-sync >/dev/null
        "${run_as[@]}" "$PG_BIN/pg_ctl" -D "$pg_data" -l "$workdir/pg.log" -w \
            -o "-p $pg_port -k $workdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null
        "$PG_BIN/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres portal
    }
    start_postgres &
    starting+=($!)
    export DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/portal"
    export PG_BIN PG_DATA="$pg_data" PG_RUN_AS="${run_as[*]}"
    echo "PostgreSQL: $DATABASE_URL" >&2
fi

if [ -z "${REDIS_URL:-}" ]; then
    command -v redis-server >/dev/null || apt_install redis-server
    redis_port=$(free_port)
    redis_pidfile="$workdir/redis.pid"
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$redis_pidfile" --dir "$workdir" \
        --logfile "$workdir/redis.log"
    for _ in $(seq 50); do [ -f "$redis_pidfile" ] && break; sleep 0.1; done
    export REDIS_URL="redis://127.0.0.1:$redis_port/0"
    echo "Redis: $REDIS_URL" >&2
fi

# A throwaway IMAP server (Dovecot) with one mailbox, for the email-in tests: plain
# login on loopback, mail in Maildir folders under the temp dir.
if [ -z "${TEST_MAILBOX_URL:-}" ]; then
    command -v dovecot >/dev/null || apt_install dovecot-imapd
    imap_port=$(free_port)
    mkdir -p "$workdir/dovecot/run" "$workdir/dovecot/state" "$workdir/dovecot/home"
    echo "support@portal.test:{PLAIN}mailbox-secret::::::" >"$workdir/dovecot/users"
    if [ "$(id -u)" = 0 ]; then
        mail_user=nobody; mail_group=nogroup; service_users=""
    else
        mail_user=$(id -un); mail_group=$(id -gn)
        service_users="default_login_user = $mail_user
default_internal_user = $mail_user"
    fi
    chown -R "$mail_user:$mail_group" "$workdir/dovecot/home"
    dovecot_conf="$workdir/dovecot/dovecot.conf"
    cat >"$dovecot_conf" <<EOF
base_dir = $workdir/dovecot/run
state_dir = $workdir/dovecot/state
log_path = $workdir/dovecot/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
$service_users
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $workdir/dovecot/users
}
userdb {
  driver = static
  args = uid=$mail_user gid=$mail_group home=$workdir/dovecot/home/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
    dovecot -c "$dovecot_conf"
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $imap_port), 1)" \
            2>/dev/null && break
        sleep 0.1
    done
    export TEST_MAILBOX_URL="imap://support%40portal.test:mailbox-secret@127.0.0.1:$imap_port/INBOX"
    echo "IMAP: 127.0.0.1:$imap_port" >&2
fi

# A throwaway MariaDB for the SQL connector's tests (a departmental system's database):
# an unprivileged server in the temp dir, on a free loopback port, no networking beyond it.
if [ -z "${TEST_MARIADB_URL:-}" ]; then
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server
    maria_bin=$(command -v mariadbd || echo /usr/sbin/mariadbd)
    maria_port=$(free_port)
    maria_dir="$workdir/mariadb"
    maria_pidfile="$maria_dir/mariadb.pid"
    mkdir -p "$maria_dir"
    maria_user=$(id -un)
    if [ "$(id -u)" = 0 ]; then
        maria_user=nobody
        chown -R nobody "$maria_dir"
    fi
    start_mariadb() {
        mariadb-install-db --no-defaults --user="$maria_user" --datadir="$maria_dir/data" \
            --auth-root-authentication-method=normal --skip-test-db >"$workdir/mariadb-install.log" 2>&1
        if [ "$(id -u)" = 0 ]; then chown -R nobody "$maria_dir"; fi
        "$maria_bin" --no-defaults --user="$maria_user" --datadir="$maria_dir/data" \
            --socket="$maria_dir/mysqld.sock" --pid-file="$maria_pidfile" \
            --bind-address=127.0.0.1 --port="$maria_port" --skip-name-resolve \
            --innodb-flush-log-at-trx-commit=0 --log-error="$maria_dir/mariadb.log" &
        for _ in $(seq 100); do
            python3 -c "import socket; socket.create_connection(('127.0.0.1', $maria_port), 1)" \
                2>/dev/null && [ -f "$maria_pidfile" ] && break
            sleep 0.1
        done
        mariadb --no-defaults -uroot --socket="$maria_dir/mysqld.sock" -e \
            "CREATE DATABASE erp; CREATE USER 'sync'@'127.0.0.1' IDENTIFIED BY 'sync-secret';
             GRANT ALL ON erp.* TO 'sync'@'127.0.0.1';"
    }
    start_mariadb &
    starting+=($!)
    export TEST_MARIADB_URL="mysql://sync:sync-secret@127.0.0.1:$maria_port/erp"
    echo "MariaDB: 127.0.0.1:$maria_port" >&2
fi

# A real OpenID Connect provider for the single sign-on tests: the npm package oidc-provider
# (installed into .venv/oidc the first time) run by scripts/oidc_provider.mjs on loopback.
if [ -z "${TEST_OIDC_URL:-}" ]; then
    repo_root=$(cd "$(dirname "$0")/.." && pwd)
    oidc_modules="$repo_root/.venv/oidc/node_modules"
    command -v npm >/dev/null || apt_install npm
    [ -d "$oidc_modules/oidc-provider" ] || npm install --silent --no-audit --no-fund \
        --prefix "$repo_root/.venv/oidc" oidc-provider@9.13.3 >&2
    oidc_port=$(free_port)
    OIDC_NODE_MODULES="$oidc_modules" node "$repo_root/scripts/oidc_provider.mjs" "$oidc_port" \
        >"$workdir/oidc.log" 2>&1 &
    oidc_pid=$!
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $oidc_port), 1)" \
            2>/dev/null && break
        sleep 0.1
    done
    export TEST_OIDC_URL="http://127.0.0.1:$oidc_port"
    echo "OpenID provider: $TEST_OIDC_URL" >&2
fi

if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
fi
# gettext (msgfmt, xgettext, msgattrib): the translations' test runs makemessages. Not
# root: the catalogue's tests are skipped without it rather than nothing running.
if ! command -v msgattrib >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt_install gettext; else echo "Missing: gettext" >&2; fi
fi
# CairoSVG draws the business-review pack's charts for its slides with libcairo2.
if [ -z "$(ls /usr/lib/*/libcairo.so.2 2>/dev/null)" ]; then
    apt_install libcairo2
fi
# The page and load benchmarks' HTTP load generator (without it, a slower Python client);
# optional, so installed only where we may.
if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ]; then
    apt_install wrk
fi

for pid in "${starting[@]}"; do wait "$pid"; done

"$@"
