"""Beat's entries and queued messages name tasks a worker knows, wherever the code lives."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

# A fresh Python process imports Django and Celery as a worker does: out of the fast subset.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent

# What a fresh worker registers: `celery -A config worker` loads the app, then its
# default modules (Django's apps' tasks and the packages config/celery.py names).
WORKER_TASKS = """
import json
from config.celery import app
app.loader.import_default_modules()
print(json.dumps(sorted(app.tasks)))
"""


@functools.cache
def worker_task_names() -> frozenset[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    out = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", WORKER_TASKS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return frozenset(json.loads(out.stdout.splitlines()[-1]))


def test_every_beat_entry_names_a_task_a_worker_registers():
    names = worker_task_names()
    missing = {
        entry: spec["task"]
        for entry, spec in settings.CELERY_BEAT_SCHEDULE.items()
        if spec["task"] not in names
    }
    assert not missing


def test_portal_tasks_keep_the_names_queued_messages_carry():
    """Messages already in Redis (and the outbox) name the tasks by their first names."""
    first_names = {
        "portal.tasks.source_sync",
        "portal.tasks.dispatch_due_sources",
        "portal.tasks.identities_resolve",
        "portal.tasks.health_compute",
        "portal.tasks.sponsor_promise_scan",
        "portal.tasks.notify_sponsor_lapses",
    }
    assert first_names <= worker_task_names()
