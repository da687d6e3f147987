"""The periodic relationship tasks run in a real Celery worker through Redis."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal.relationship import tasks
from portal.relationship.models import HealthScore, SponsorLapse
from portal.tests.relationship import add_sponsor, premium_tier, put_on_tier
from tests import conftest as cross_app

# The real worker fixture of the cross-app tests, registered in this module too.
real_worker = cross_app.celery_worker_process

pytestmark = pytest.mark.slow


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_beat_tasks_score_health_and_warn_the_sponsor_once(world, real_worker):
    put_on_tier(world.org_a, premium_tier(), since=timezone.now() - timedelta(days=100))
    sponsor = add_sponsor(world.org_a, since=timezone.now() - timedelta(days=40))
    summary = tasks.health_compute.delay().get(timeout=60)
    assert summary["scored"] == 2
    assert HealthScore.objects.count() == 2
    assert tasks.sponsor_promise_scan.delay().get(timeout=60)["warned"] == 1

    def mail() -> str:  # the file backend writes one file per connection
        return "".join(path.read_text() for path in real_worker.iterdir())

    assert wait_for(lambda: sponsor.email in mail() and world.am_a.email in mail()), (
        "no warning to the sponsor and the AM within a minute"
    )
    # One message each.
    assert mail().count("Subject: Executive sponsor contact overdue: Alpha Clinic") == 2
    # The same lapse the next hour: nothing new to warn about.
    assert tasks.sponsor_promise_scan.delay().get(timeout=60) == {
        "lapsed": 1,
        "warned": 0,
        "ended": 0,
    }
    assert SponsorLapse.objects.get().warned_at is not None
