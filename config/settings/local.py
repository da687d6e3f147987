"""Development and demo: DEBUG on unless the environment says otherwise."""

import os

os.environ.setdefault("DEBUG", "true")

from config.settings.base import *  # noqa: F403

# make run: the demo's loading and the dev server speak in a few lines, not every task's
# result, HTTP call or the in-memory broker's missing host name.
LOGGING["loggers"] = {  # noqa: F405
    "celery.app.trace": {"level": "WARNING"},
    "httpx": {"level": "WARNING"},
    "axes.apps": {"level": "WARNING"},
    "kombu.connection": {"level": "ERROR"},
}
# The invoices' covering index is for PostgreSQL; SQLite ignores its extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
