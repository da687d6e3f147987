"""Kept pages (accounts.page_cache) after the sync's writes: a batch, a match and its undo
show on the very next request of a page the customer had open."""

from datetime import timedelta

from django.urls import reverse

from accounts.tests.test_page_cache import warm
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
