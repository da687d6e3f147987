"""The test database on PostgreSQL: cloned from a migrated template, not migrated each time.

Migrating an empty database (about a hundred migrations, most of the time spent by Django
rendering model states) is the largest fixed cost of a test process, and `make test` runs
several processes (pytest-xdist). So the first process migrates a template database once,
and every process copies it (`CREATE DATABASE ... TEMPLATE`, a file copy in PostgreSQL).

The template is named by a digest of every installed app's migration files, so a changed
or added migration builds a new one (and the old ones are dropped), and a server that
outlives the run (DATABASE_URL set) keeps it for the next run. A lock file shared by the
processes of the machine makes them take turns.

A throwaway server (scripts/with-services.sh, which names its binaries in PG_BIN) lives for
one run only, so there the template is also kept as a dump under var/test-templates/, named
by the same digest: the next run restores it in about a second instead of migrating for ten.

The template's tables are left out of autovacuum (and so every copy's): a test's rows are
never committed, and an autovacuum ANALYZE while a test runs counts them as absent, so
the planner takes a table of thousands of rows for an empty one and loops over it (the
generated identity estate's test took 290 s instead of 20 in the suite). Without it a
table the tests wrote to keeps its never-analysed estimate, read from its size on disk.
"""

import fcntl
import hashlib
import os
import subprocess
import tempfile
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connection


def create_from_template() -> None:
    """Creates this process's test database as a copy of the template, and points the
    connection at it."""
    name = connection.creation._get_test_db_name()
    template = f"{name.split('_gw')[0]}_template_{_migrations_digest()}"
    with _machine_lock(), connection._nodb_cursor() as cursor:
        if not _exists(cursor, template):
            _drop_older_templates(cursor, template)
            if not _restored(cursor, template):
                _build(template)
                _keep(template)
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    _use(name)


def drop() -> None:
    name = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _build(template: str) -> None:
    """Migrates a new database the way Django's test runner would, under the template's
    name; nobody stays connected to it (PostgreSQL copies only an unused database)."""
    test_settings = connection.settings_dict["TEST"]
    own_name, test_settings["NAME"] = test_settings.get("NAME"), template
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        _without_autovacuum()
    finally:
        test_settings["NAME"] = own_name
        connection.close()


def _kept_dump(template: str) -> Path | None:
    """The template's dump between runs of a throwaway server, whose own pg_dump and
    pg_restore are in PG_BIN; None for a server of another kind (it keeps the template)."""
    if not os.environ.get("PG_BIN"):
        return None
    return Path(__file__).resolve().parents[1] / "var" / "test-templates" / f"{template}.dump"


def _pg_tool(tool: str, *args: str) -> bool:
    settings_dict = connection.settings_dict
    env = {
        **os.environ,
        "PGHOST": settings_dict["HOST"],
        "PGPORT": str(settings_dict["PORT"]),
        "PGUSER": settings_dict["USER"],
        "PGPASSWORD": settings_dict["PASSWORD"] or "",
    }
    command = [str(Path(os.environ["PG_BIN"]) / tool), *args]
    return subprocess.run(command, env=env, capture_output=True).returncode == 0  # noqa: S603


def _restored(cursor, template: str) -> bool:
    """Makes the template from its kept dump, if there is one; a dump that does not restore
    whole leaves no database behind (the template is then migrated)."""
    dump = _kept_dump(template)
    if dump is None or not dump.exists():
        return False
    cursor.execute(f'CREATE DATABASE "{template}"')
    if _pg_tool("pg_restore", "--exit-on-error", "--single-transaction", "-d", template, str(dump)):
        return True
    cursor.execute(f'DROP DATABASE "{template}"')
    dump.unlink()
    return False


def _keep(template: str) -> None:
    """Dumps the template for the next run (written aside, then renamed: never half a
    dump), and removes the dumps of older templates."""
    dump = _kept_dump(template)
    if dump is None:
        return
    dump.parent.mkdir(parents=True, exist_ok=True)
    partial = dump.with_suffix(f".{os.getpid()}.partial")
    if _pg_tool("pg_dump", "--format=custom", "-f", str(partial), template):
        partial.replace(dump)
        for older in dump.parent.glob("*.dump"):
            if older != dump:
                older.unlink(missing_ok=True)
    else:
        partial.unlink(missing_ok=True)


def _without_autovacuum() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format('ALTER TABLE %I.%I SET (autovacuum_enabled = off, "
            "toast.autovacuum_enabled = off)', relnamespace::regnamespace, relname) "
            "FROM pg_class WHERE relkind = 'r' AND relnamespace = current_schema()::regnamespace"
        )
        for (statement,) in cursor.fetchall():
            cursor.execute(statement)


def _use(name: str) -> None:
    connection.close()
    connection.settings_dict["NAME"] = name
    settings.DATABASES[connection.alias]["NAME"] = name


def _exists(cursor, database: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
    return cursor.fetchone() is not None


def _drop_older_templates(cursor, template: str) -> None:
    prefix = template.rsplit("_", 1)[0] + "_"
    cursor.execute(
        "SELECT datname FROM pg_database WHERE starts_with(datname, %s) AND datname <> %s",
        [prefix, template],
    )
    for (older,) in cursor.fetchall():
        cursor.execute(f'DROP DATABASE IF EXISTS "{older}"')


def _migrations_digest() -> str:
    digest = hashlib.sha256()
    for app in sorted(apps.get_app_configs(), key=lambda app: app.label):
        try:
            module = import_module(f"{app.name}.migrations")
        except ImportError:
            continue
        for path in sorted(Path(module.__path__[0]).glob("*.py")):
            digest.update(f"{app.label}/{path.name}".encode())
            digest.update(path.read_bytes())
    # The triggers the template's migrate made (accounts/platform/data_versions.py).
    digest.update((Path(__file__).parents[1] / "accounts/platform/data_versions.py").read_bytes())
    # How the template is built (here).
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def _machine_lock():
    server = f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}"
    key = hashlib.sha256(server.encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"portal-test-db-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
