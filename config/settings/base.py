"""Settings shared by every environment, all read from the environment.

The embedded default (no DATABASE_URL, no REDIS_URL) is a SQLite file and
Celery tasks run inline, so `make run` needs nothing installed. Production
sets DATABASE_URL (PostgreSQL) and REDIS_URL (broker, results, cache).
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("PORTAL_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "accounts.apps.PortalAdminConfig",  # Django admin, signing in through the portal's login
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally: no CDN
    "django_htmx",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",  # authenticator apps
    "django_otp.plugins.otp_static",  # recovery codes
    "allauth",  # single sign-on (accounts/sso.py)
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "tiers",
    "tickets",
    "tickets.knowledge",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.platform.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the browser's language, before sign-in
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, taking the person read with the session (accounts.platform.sessions).
    "accounts.platform.middleware.AuthenticationMiddleware",
    "accounts.platform.middleware.SecondFactorMiddleware",  # request.user.is_verified()
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.platform.middleware.CurrentOrganisationMiddleware",
    "accounts.platform.middleware.PersonLocaleMiddleware",  # the person's language and zone
    "accounts.platform.middleware.ViewAsAuditMiddleware",
    "accounts.platform.middleware.AuditContextMiddleware",
    "accounts.platform.middleware.NoStoreMiddleware",
    # Who must use two-factor sign-in can do nothing else until they have
    # (accounts/platform/two_factor.py).
    "accounts.platform.middleware.TwoFactorMiddleware",
    # Last: turns a lockout flagged during authenticate() into the lockout page.
    "axes.middleware.AxesMiddleware",
    "allauth.account.middleware.AccountMiddleware",  # required by allauth; single sign-on
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.platform.context_processors.portal_context",
            ],
        },
    },
]

# Database: https://docs.djangoproject.com/en/5.2/ref/settings/#databases
# Persistent connections with health checks: a request reuses its
# connection (several times faster than reconnecting) and a connection broken
# by a database restart is replaced instead of failing the next request.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
    # No JIT compilation: the planner's cost estimates for the policy's subqueries on
    # the workspace pages pass JIT's threshold, and compiling took 3 s to run a 5 ms
    # query (docs/benchmarks.md). Short web queries never gain from it.
    # Joins reordered up to 6 tables (PostgreSQL's default: 8): the ORM joins along
    # foreign keys from the table it reads, and trying every order of a ticket page's 8
    # tables took 4-9 ms of planning for a 0.3 ms query; the pages' other plans stay the same.
    if "postgresql" in DATABASES["default"]["ENGINE"]:
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
            "-c jit=off -c join_collapse_limit=6"
        )
        # Prepared statements (server-side binding, each statement prepared on its
        # connection after 5 runs) save PostgreSQL the planning of a page's queries, but
        # its generic plans assume an organisation of average size: measured, the typical
        # customer's pages got cheaper and the largest organisation's home and an AM of
        # 500 accounts dearer (docs/production.md). Off unless asked for.
        if env_bool("DB_PREPARED_STATEMENTS", default=False):
            DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=5)
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "portal.sqlite3",
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling (django-axes, https://django-axes.readthedocs.io/en/latest/4_configuration.html).
# Its backend goes first, so every authenticate() call (web login, admin login,
# API token creation) is counted and refused alike. Failures count per
# username AND client address together: guessing at one account from one place
# locks only that pair, so an attacker behind an office's shared address
# cannot lock the whole office out, and an attacker elsewhere cannot lock out
# a customer at their desk.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.platform.authentication.PersonBackend",  # Django's ModelBackend, cheaper per request
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a good login forgets the earlier typos
# Our forms (and authenticate() calls) pass the email as `username`.
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.platform.audit.login_username"
AXES_LOCKOUT_CALLABLE = "accounts.views.sign_in.login_locked_out"
# Logins are in the audit trail's sessions and Django's last_login; axes keeps failures only.
AXES_DISABLE_ACCESS_LOG = True
# The client address: REMOTE_ADDR, or behind N trusted proxies the Nth address from
# the right of X-Forwarded-For (set TRUSTED_PROXY_COUNT in production).
AXES_IPWARE_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
# A wrong second-factor code is a failed login too (accounts/platform/two_factor.py); axes keeps the
# posted form of failures, so the codes tried are masked like passwords.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]

# Two-factor sign-in (django-otp, https://django-otp-official.readthedocs.io/): an
# authenticator app (TOTP) and single-use recovery codes. Required for staff and for the
# members of organisations that ask for it; optional for other customers.
OTP_TOTP_ISSUER = env_str("TWO_FACTOR_ISSUER", "Customer Portal")  # the name in the app
# django-otp's own per-device delay after wrong codes is off: the one throttle is axes, per
# email and address, so a guesser elsewhere cannot slow down the person at their desk.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # Django admin never shows secrets or recovery codes
# How long the code step waits after the password was right (then: password again).
TWO_FACTOR_LOGIN_SECONDS = env_int("TWO_FACTOR_LOGIN_SECONDS", 300)
TWO_FACTOR_RECOVERY_CODES = 10

# Single sign-on with OpenID Connect (accounts/sso.py, docs/production.md), through
# django-allauth's openid_connect provider (https://docs.allauth.org/en/latest/socialaccount/).
# The staff's provider comes from here; customer organisations' providers from the database.
SSO_STAFF_SERVER_URL = env_str("SSO_STAFF_SERVER_URL")  # the issuer, e.g. https://id.example.com
SSO_STAFF_CLIENT_ID = env_str("SSO_STAFF_CLIENT_ID")
SSO_STAFF_CLIENT_SECRET = env_str("SSO_STAFF_CLIENT_SECRET")
SSO_STAFF_NAME = env_str("SSO_STAFF_NAME", "Company account")
# Email domains the staff's provider may sign in: a staff account elsewhere is refused.
SSO_STAFF_DOMAINS = env_list("SSO_STAFF_DOMAINS")
# `acr` values that say the provider checked a second factor (besides an `amr` such as mfa, otp,
# hwk); such a sign-in is not asked for the portal's own code.
SSO_MFA_ACR_VALUES = env_list("SSO_MFA_ACR_VALUES")
SOCIALACCOUNT_ADAPTER = "accounts.sso.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "staff",
                "name": SSO_STAFF_NAME,
                "client_id": SSO_STAFF_CLIENT_ID,
                "secret": SSO_STAFF_CLIENT_SECRET,
                "settings": {"server_url": SSO_STAFF_SERVER_URL, "oauth_pkce_enabled": True},
            }
        ]
        if SSO_STAFF_SERVER_URL
        else []
    }
}
SOCIALACCOUNT_STORE_TOKENS = False
# allauth's own account pages are not used (accounts/urls.py has the portal's); these only
# tell it the user model has an email and no username.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]

# Argon2 first: new and upgraded passwords are hashed with it.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 60 * 60 * 24)
INVITATION_VALID_DAYS = env_int("INVITATION_VALID_DAYS", 7)

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 8)
# Database sessions, read with fixed SQL (accounts.platform.sessions.SessionStore).
SESSION_ENGINE = "accounts.platform.sessions"
# The age counts from the last request (expiry on inactivity), the expiry written at most
# this often (accounts.platform.middleware.SessionRefreshMiddleware), not on every request.
SESSION_REFRESH_SECONDS = env_int("SESSION_REFRESH_SECONDS", 60)
SESSION_COOKIE_HTTPONLY = True
# Nothing in our pages reads the CSRF cookie from JavaScript: forms carry the token.
CSRF_COOKIE_HTTPONLY = True

# Content-Security-Policy (django-csp, https://django-csp.readthedocs.io/): scripts
# and styles only from our own static files, never inline, so injected markup
# cannot run. Enforced everywhere (development and tests too), so a page that
# breaks it is caught before production. django-csp rather than Django 6's
# built-in CSP: the same settings work on Django 5.2 and 6.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# Languages and time zones: https://docs.djangoproject.com/en/5.2/topics/i18n/
# Each person reads the portal in their own language and zone (accounts/locale.py); one
# catalogue holds every translation (`make messages`, README "Translations").
LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "config" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times are shown in this zone to whoever chose none and whose organisation has none.
PORTAL_DEFAULT_TIME_ZONE = env_str("PORTAL_DEFAULT_TIME_ZONE", "Europe/London")

STATIC_URL = "static/"
# Set in production (collectstatic); in development static files come from the finders.
STATIC_ROOT = env_str("STATIC_ROOT") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Ticket attachments: stored under MEDIA_ROOT (never under static), served through the policy.
TICKET_ATTACHMENT_MAX_BYTES = env_int("TICKET_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)

# Outbound webhooks (accounts/platform/webhooks.py, docs/api.md). Deliveries go only to public
# addresses; WEBHOOK_ALLOWED_NETWORKS (CIDRs, comma-separated) lets some internal ones
# through, e.g. a receiver on the intranet, or loopback in the tests.
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS")
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10)  # 30 s to about 4 h apart
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30)
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 20)

# The value pages (80/20, tier fit) report revenue in this currency; invoices in other
# currencies are converted at the rates kept in admin (Tiers › Exchange rates).
VALUE_CURRENCY = env_str("VALUE_CURRENCY", "GBP").strip().upper()
if len(VALUE_CURRENCY) != 3 or not VALUE_CURRENCY.isalpha():
    raise ImproperlyConfigured(f"VALUE_CURRENCY must be a 3-letter code, got {VALUE_CURRENCY!r}")
TICKET_ATTACHMENT_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# A running sync run's process writes its heartbeat this often (a thread of its own, and
# once per batch); one older than SYNC_STALE_SECONDS is taken as dead (its worker was
# killed) and beat's next dispatch (each minute) starts the source again from its cursor.
SYNC_HEARTBEAT_SECONDS = env_int("SYNC_HEARTBEAT_SECONDS", 10)
SYNC_STALE_SECONDS = env_int("SYNC_STALE_SECONDS", 45)
# A run that quarantined more than this share of what it read ends as "needs attention"
# (a source's config may set its own `attention_percent`).
SYNC_ATTENTION_SHARE = env_int("SYNC_ATTENTION_PERCENT", 5) / 100
# A dropped file is taken once its size and time stopped changing this long ago
# (a source's "settle_seconds" overrides it); docs/sync.md, "Dropping files safely".
SYNC_DROP_SETTLE_SECONDS = env_int("SYNC_DROP_SETTLE_SECONDS", 10)
# A run that failed on an error that passes (the legacy system or the database down, a
# broker blip) is retried SYNC_RETRIES times, after 5, 10, 20, ... seconds (half of each
# random), at most SYNC_RETRY_MAX_SECONDS apart: about 6 to 12 minutes in all, and never
# more than 2 minutes after the fault ended. docs/sync.md, "When something fails".
SYNC_RETRIES = env_int("SYNC_RETRIES", 10)
SYNC_RETRY_FIRST_SECONDS = env_int("SYNC_RETRY_FIRST_SECONDS", 5)
SYNC_RETRY_MAX_SECONDS = env_int("SYNC_RETRY_MAX_SECONDS", 120)

# SLA warnings go out when this share of a target has passed.
SLA_WARNING_FRACTION = 0.8

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Redis: broker, result backend and cache when REDIS_URL is set; otherwise
# tasks run inline in the calling process and the cache is in memory.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_RESULT_EXPIRES = 60 * 60 * 24
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat entries expire before the next tick, so a backlog never piles up.
CELERY_BEAT_SCHEDULE = {
    "sla-scan": {
        "task": "tickets.tasks.sla_scan",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "sync-dispatch": {
        "task": "portal.tasks.dispatch_due_sources",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    # Legacy customers still waiting, through the identity engine again (portal/sync).
    "identities-resolve": {
        "task": "portal.tasks.identities_resolve",
        "schedule": 3600.0,
        "options": {"expires": 3300},
    },
    # Work kept in the outbox while Redis was down (accounts/platform/outbox.py).
    "outbox-relay": {
        "task": "accounts.tasks.outbox_relay",
        "schedule": float(env_int("OUTBOX_RELAY_SECONDS", 30)),
        "options": {"expires": max(1, env_int("OUTBOX_RELAY_SECONDS", 30) - 5)},
    },
    # Health scores (one row per organisation per day: each run replaces today's) and
    # the executive-sponsor promise (each lapse warned once); docs/relationship-health.md.
    "health-compute": {
        "task": "portal.tasks.health_compute",
        "schedule": 3600.0,
        "options": {"expires": 3300},
    },
    "sponsor-promise-scan": {
        "task": "portal.tasks.sponsor_promise_scan",
        "schedule": 3600.0,
        "options": {"expires": 3300},
    },
    # Email in (docs/email.md): reads the support mailbox; does nothing without MAILBOX_URL.
    "mailbox-poll": {
        "task": "tickets.tasks.mailbox_poll",
        "schedule": float(env_int("MAILBOX_POLL_SECONDS", 60)),
        "options": {"expires": max(1, env_int("MAILBOX_POLL_SECONDS", 60) - 5)},
    },
    # Deletes the received messages older than INBOUND_EMAIL_RAW_DAYS.
    "inbound-raw-purge": {
        "task": "tickets.tasks.inbound_raw_purge",
        "schedule": 6 * 3600.0,
        "options": {"expires": 3 * 3600},
    },
    # Webhook deliveries due (a retry after its back-off, or a task lost):
    # accounts/platform/webhooks.py.
    "webhooks-due": {
        "task": "accounts.tasks.webhooks_due",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    # Once a day, in the morning (TIME_ZONE): each person's digest of what they routed to
    # it, and each AM's tasks of the day; both send a day's mail once however often they run.
    "daily-digest": {
        "task": "accounts.tasks.daily_digest",
        "schedule": crontab(hour=env_int("DIGEST_HOUR", 7), minute=0),
        "options": {"expires": 3300},
    },
    # Cover past its last day ends (accounts/cover.py).
    "cover-expire": {
        "task": "accounts.tasks.cover_expire",
        "schedule": 300.0,
        "options": {"expires": 280},
    },
    "am-task-rules": {
        "task": "portal.tasks.am_task_rules",
        "schedule": 3600.0,
        "options": {"expires": 3300},
    },
    "am-tasks-morning": {
        "task": "portal.tasks.am_tasks_morning",
        "schedule": crontab(hour=env_int("DIGEST_HOUR", 7), minute=5),
        "options": {"expires": 3300},
    },
}
# With acks_late, a task whose worker died is delivered again after this many
# seconds; longer than the longest task (the hard time limit).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 60 * 60),
}
# Beat writes its heartbeat for /health/ as it ticks (config/celery.py); /health/ fails
# when the worker's or beat's is older than this (0: not checked). docs/production.md.
CELERY_BEAT_SCHEDULER = "config.celery:HeartbeatScheduler"
HEALTH_HEARTBEAT_STALE_SECONDS = env_int("HEALTH_HEARTBEAT_STALE_SECONDS", 120)
HEARTBEAT_SECONDS = env_int("HEARTBEAT_SECONDS", 15)  # how often each writes its own

# A Redis that hangs instead of refusing costs a request at most this long per call (the
# cache, the broker's publish): then the page is built without it and the work waits in
# the outbox (accounts/platform/outbox.py). Redis answers in well under a millisecond when well.
REDIS_SOCKET_TIMEOUT = env_int("REDIS_SOCKET_TIMEOUT_MS", 250) / 1000
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Passed to redis-py's connection pool.
            "OPTIONS": {
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
                "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The broker's socket too (kombu's Redis transport options), for the publish of a request.
CELERY_BROKER_TRANSPORT_OPTIONS |= {
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
}
# Kept page content (accounts/platform/page_cache.py): off builds every page on every request,
# which is what the page budget is measured on (docs/benchmarks.md). Off by default
# without Redis: an in-process cache would not see the writes of another process (a
# `manage.py sync`, the mailbox poll) and would serve what they changed for a minute.
PAGE_CACHE = env_bool("PAGE_CACHE", default=bool(REDIS_URL))

# Email: SMTP when EMAIL_HOST is set. Otherwise (make run) each message is kept whole
# under EMAIL_FILE_PATH and only its recipients and subject are printed.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "config.mail_backends.SubjectsToConsoleBackend"
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Customer Portal <portal@localhost>")
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", "http://127.0.0.1:8000")
# Email in (docs/email.md). The address customers write to; notifications ask for replies
# at its plus address (support+T-000042@...). Empty: notifications carry no reply address.
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL")
# The mailbox the beat task reads, e.g. imaps://support%40example.com:secret@imap.example.com/INBOX
# (imap:// without TLS, for a server on the same machine). Empty: no mailbox is read.
MAILBOX_URL = env_str("MAILBOX_URL")
INBOUND_EMAIL_PER_HOUR = env_int("INBOUND_EMAIL_PER_HOUR", 20)  # per sender, then ignored
# The authserv-ids of the receiving mail server's Authentication-Results headers that are
# trusted to say who sent a message (tickets/mail_auth.py): e.g. "mx.portal.example" for
# your Postfix with OpenDKIM/OpenDMARC, "mx.google.com" for a Google mailbox. Empty: no
# From is proven, so mail from known people is held for staff (docs/email.md).
INBOUND_EMAIL_AUTHSERV_IDS = env_list("INBOUND_EMAIL_AUTHSERV_IDS")
# Larger messages are refused with a clear answer; the mail server may refuse them first.
INBOUND_EMAIL_MAX_BYTES = env_int("INBOUND_EMAIL_MAX_BYTES", 20 * 1024 * 1024)
# The received messages (.eml) are kept this many days for staff, then deleted.
INBOUND_EMAIL_RAW_DAYS = env_int("INBOUND_EMAIL_RAW_DAYS", 90)
RATING_LINK_DAYS = env_int("RATING_LINK_DAYS", 14)  # the one-click rating links in emails
# A TrueType font for the invoice PDFs (any script); without it, Latin-1 only.
PDF_FONT_PATH = env_str("PDF_FONT_PATH", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

# The API (/api/v1/, docs/api.md): personal tokens or the browser session.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.platform.authentication.ApiTokenAuthentication",  # first: a 401 names the scheme
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["config.api.UserRateThrottle", "config.api.AnonRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "config.api.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "config.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Writes take JSON; the few that carry files say so themselves (multipart), so every
    # request body is documented under the one content type the operation takes.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
API_RATE_USER = env_str("API_RATE_USER", "600/minute")
API_RATE_ANON = env_str("API_RATE_ANON", "60/minute")
SPECTACULAR_SETTINGS = {
    "TITLE": "Customer Portal API",
    "DESCRIPTION": (
        "Orders, shipments, invoices, tickets, tiers and the account team: the data the "
        "portal's screens show, under the same access policy."
    ),
    "VERSION": "1",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"expected_refusals": {"()": "config.logs.ExpectedRefusalFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["expected_refusals"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
