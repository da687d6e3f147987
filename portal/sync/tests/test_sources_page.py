"""The legacy systems' staff pages: sources, their runs, a running run's live counters."""

import re

import pytest
from django.contrib.messages import get_messages
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.sync.choices import RunStatus
from portal.sync.models import SourceSystem, SyncRun


def add_sources(count: int, *, start: int = 0) -> list[SourceSystem]:
    sources = []
    for i in range(start, start + count):
        source = SourceSystem.objects.create(
            name=f"System {i}", system=f"system-{i}", department="billing", kind="csv",
            entity="invoices", enabled=False, config={},
        )  # fmt: skip
        for status in (RunStatus.FAILED, RunStatus.SUCCEEDED):
            now = timezone.now()
            SyncRun.objects.create(
                source=source, status=status, started_at=now, heartbeat_at=now, read=7 + i
            )
        sources.append(source)
    return sources


def queries(client, url) -> int:
    from django.db import connection

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_sources_page_makes_the_same_queries_at_any_size(client, world):
    client.force_login(world.am_a)
    add_sources(2)
    small = queries(client, reverse("portal:sync_sources"))
    add_sources(10, start=2)
    large = queries(client, reverse("portal:sync_sources"))
    assert large == small <= 8
    page = client.get(reverse("portal:sync_sources")).content.decode()
    assert "System 11" in page
    assert "Succeeded, 18 read" in page  # the latest run, not the first


@pytest.mark.parametrize(("status", "polls"), [("running", True), ("succeeded", False)])
def test_a_run_is_polled_while_it_runs_and_no_longer_once_it_ended(client, world, status, polls):
    (source,) = add_sources(1)
    run = source.runs.order_by("-started_at").first()
    SyncRun.objects.filter(pk=run.pk).update(status=status, read=42)
    client.force_login(world.am_a)
    fragment = client.get(reverse("portal:sync_run_progress", args=[run.pk])).content.decode()
    assert 'data-testid="run-read">42<' in fragment
    assert ('hx-trigger="every 1s"' in fragment) is polls


def test_an_admin_runs_a_source_now_and_is_sent_to_its_live_page(client, world):
    (source,) = add_sources(1)
    client.force_login(world.admin)
    response = client.post(reverse("portal:sync_run_now", args=[source.pk]))
    assert response.url == reverse("portal:sync_source", args=[source.pk])
    (message,) = get_messages(response.wsgi_request)
    assert str(message) == "A run of System 0 is queued."


def test_an_account_manager_sees_the_runs_but_cannot_start_one(client, world):
    (source,) = add_sources(1)
    client.force_login(world.am_a)
    page = client.get(reverse("portal:sync_source", args=[source.pk])).content.decode()
    assert "Run now" not in page
    assert client.post(reverse("portal:sync_run_now", args=[source.pk])).status_code == 403


def test_the_admin_pages_of_a_source_and_a_run_follow_the_run_live(client, world):
    (source,) = add_sources(1)
    run = source.runs.order_by("-started_at").first()
    SyncRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    client.force_login(world.admin)
    progress = reverse("portal:sync_run_progress", args=[run.pk])
    for url in (
        reverse("admin:portal_sourcesystem_change", args=[source.pk]),
        reverse("admin:portal_syncrun_change", args=[run.pk]),
    ):
        page = client.get(url).content.decode()
        assert f'hx-get="{progress}"' in page, url
        assert re.search(r'<script src="[^"]*htmx[^"]*\.js"', page), url

    changelist = reverse("admin:portal_sourcesystem_changelist")
    response = client.post(
        changelist, {"action": "run_now", "_selected_action": [source.pk]}, follow=True
    )
    (message,) = get_messages(response.wsgi_request)
    assert "Follow it live:" in str(message)
    assert reverse("portal:sync_source", args=[source.pk]) in str(message)
