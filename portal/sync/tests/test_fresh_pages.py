"""Kept pages (accounts.platform.page_cache) after the sync's writes: a batch, a match and its undo
show on the very next request of a page the customer had open."""

from datetime import timedelta

from django.urls import reverse

from accounts.models import AuditEvent
from accounts.platform import page_cache
from accounts.tests.test_page_cache import _request, pinned_clock, warm  # noqa: F401
from portal.sync import identity
from portal.sync.tests.legacy import T0, sync
from portal.sync.tests.test_identity_review import waiting_identity


def test_a_sync_batch_shows_on_the_next_request(client, legacy, order_source, world):
    client.force_login(world.member_a)
    home, orders = reverse("home"), reverse("portal:orders")
    assert "SO-1" not in warm(client, home)
    assert "SO-1" not in warm(client, orders)

    # Our customer number in the name: a hard key (a name alone would wait for a person).
    legacy.put(1, cust="OE-1", name="ALPHA CLINIC LTD C-A001", at=T0 + timedelta(minutes=1))
    sync(order_source)

    assert "SO-1" in client.get(home).content.decode()
    assert "SO-1" in client.get(orders).content.decode()


def test_a_match_and_its_undo_show_on_the_next_request(client, legacy, order_source, world):
    pending = waiting_identity(legacy, order_source)  # "ALFA CLINIK": waits for a person
    client.force_login(world.member_a)
    orders = reverse("portal:orders")
    assert "SO-1" not in warm(client, orders)

    identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    assert "SO-1" in client.get(orders).content.decode()

    pending.refresh_from_db()
    identity.identity_match(identity=pending, organisation=None, by=world.am_a)
    assert "SO-1" not in client.get(orders).content.decode()


def test_a_sync_run_that_lands_nothing_renews_no_version(legacy, order_source, world):
    legacy.put(1, cust="OE-1", name="ALPHA CLINIC LTD", at=T0 + timedelta(minutes=1))
    sync(order_source)
    request = _request(world.member_a)
    before = page_cache.page_cache(request, "home", dict).key
    sync(order_source)  # nothing new: only the source's cursor and clocks are saved
    sync(order_source, full=True)  # nothing deleted either
    assert page_cache.page_cache(request, "home", dict).key == before
    legacy.put(2, cust="OE-1", name="ALPHA CLINIC LTD", at=T0 + timedelta(minutes=2))
    sync(order_source)
    assert page_cache.page_cache(request, "home", dict).key != before


def test_resuming_a_paused_source_is_audited_and_shows_at_once(client, order_source, world):
    order_source.paused_reason = "the file has no column total"
    order_source.save(update_fields=["paused_reason"])
    client.force_login(world.admin)
    request = _request(world.member_a)
    before = page_cache.page_cache(request, "home", dict).key

    response = client.post(
        reverse("admin:portal_sourcesystem_changelist"),
        {"action": "resume", "_selected_action": [order_source.pk]},
        follow=True,
    )

    assert "Resumed 1 source(s)." in response.content.decode()
    order_source.refresh_from_db()
    assert order_source.paused_reason == ""
    event = AuditEvent.objects.filter(detail__model="portal.sourcesystem").latest("pk")
    assert event.actor == world.admin
    assert event.detail["changes"]["paused_reason"][0] == "the file has no column total"
    assert page_cache.page_cache(request, "home", dict).key != before
