"""The test suite: real PostgreSQL and Redis when DATABASE_URL/REDIS_URL are set."""

import os
from urllib.parse import urlsplit

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")

# Parallel test processes (pytest-xdist: gw0, gw1, ...) share one Redis: each takes its own
# database number, as broker, results and cache, and so do the workers and servers it
# starts (they inherit the variable). Only the test process itself chooses: a process it
# starts keeps the REDIS_URL it is given (a fault test's own Redis). PostgreSQL needs
# nothing: pytest-django gives each test process its own test database.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if (
    _xdist_worker.startswith("gw")
    and os.environ.get("REDIS_URL")
    and not os.environ.get("PORTAL_TEST_REDIS_CHOSEN")
):
    _redis = urlsplit(os.environ["REDIS_URL"])
    os.environ["REDIS_URL"] = _redis._replace(path=f"/{1 + int(_xdist_worker[2:])}").geturl()
    os.environ["PORTAL_TEST_REDIS_CHOSEN"] = "1"

from config.env import env_bool, env_int  # noqa: E402 - after the Redis choice above
from config.settings.base import *  # noqa: E402, F403

# Fast hashing keeps the suite quick; production keeps argon2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["*"]
# Tasks run inline unless a test starts a real worker (tests/test_celery_worker.py).
# A worker or beat a test starts says false: it sends its retries and beat's entries
# through the broker, as in production (tests/conftest.py).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", True)
# Lets a worker process started by a test write its mail where the test can read it.
if os.environ.get("EMAIL_FILE_PATH"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
# The API's rate limits would trip over the fuzz test; tests of the limits set their own.
API_RATE_USER = "1000000/minute"
API_RATE_ANON = "1000000/minute"
# Files the tests write are complete once written; the tests of settling set it per source.
SYNC_DROP_SETTLE_SECONDS = 0
# No worker or beat runs beside most tests: /health/ checks their heartbeats only in the
# tests that start them (tests/test_faults.py).
HEALTH_HEARTBEAT_STALE_SECONDS = env_int("HEALTH_HEARTBEAT_STALE_SECONDS", 0)
# Test mail carries an Authentication-Results header from this receiving server.
INBOUND_EMAIL_AUTHSERV_IDS = ["mx.portal.test"]
# The tests' webhook receivers listen on loopback; tests of the refusal clear this.
WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
# Kept page content on, with or without Redis: the suite runs in one process.
PAGE_CACHE = env_bool("PAGE_CACHE", default=True)
