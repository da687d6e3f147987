"""The Celery app. Workers and beat run `celery -A config worker|beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("portal")
# Celery's Django fixup closes the database connections before and after every
# task, so a worker never reuses a connection a database restart broke. Keep it
# that way: CELERY_DB_REUSE_MAX would turn that off (tests/test_faults.py).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
