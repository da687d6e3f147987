"""Kept page content (accounts.platform.page_cache): served again only while nothing it shows has
changed. Each test warms a page, writes through the services, and reads the page once."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.platform import page_cache
from accounts.tests.data_versions import renew
from portal.records.models import Invoice, Order
from portal.relationship import services as relationship_services
from tickets import services as ticket_services
from tickets.models import Ticket


@pytest.fixture(autouse=True)
def pinned_clock(monkeypatch):
    """Every test in one minute: a minute that turns between warming a page and reading it
    again would build it afresh and fail the query counts (it did once: 5 == 14)."""
    monkeypatch.setattr(page_cache, "clock", lambda: 1_800_000_000.0)


def warm(client, url: str) -> str:
    """Ask twice: the first answer sets the CSRF cookie the kept content is keyed on."""
    client.get(url)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def queries(client, url: str) -> int:
    return len(statements(client, url))


def statements(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured]


def reads_content(sql: list[str]) -> bool:
    """Whether any of these statements reads the home's own content (its tickets, orders,
    invoices), as opposed to the frame's session and organisations and the data versions."""
    tables = (Ticket._meta.db_table, Order._meta.db_table, Invoice._meta.db_table)
    return any(f'"{table}"' in statement for statement in sql for table in tables)


def open_ticket(world, subject="Printer on fire", *, of_b=False, category="product") -> Ticket:
    """A ticket opened by a member of A (or of B)."""
    return ticket_services.ticket_create(
        organisation=world.org_b if of_b else world.org_a,
        requester=world.member_b if of_b else world.member_a,
        subject=subject,
        category=category,
        priority="normal",
        body="It smokes.",
    )


def test_a_kept_page_runs_none_of_its_own_queries(client, world):
    client.force_login(world.member_a)
    home = reverse("home")
    warm(client, home)
    kept = statements(client, home)
    renew(world.org_a.pk)  # built afresh (no cache.clear(): Celery's broker too)
    built = statements(client, home)
    assert reads_content(built)
    assert not reads_content(kept), kept
    assert len(kept) < len(built)


def test_a_ticket_reply_shows_on_the_next_request(client, world):
    ticket = open_ticket(world)
    client.force_login(world.member_a)
    url = reverse("tickets:detail", args=[ticket.pk])
    assert "We are on it" not in warm(client, url)
    ticket_services.ticket_reply(ticket=ticket, author=world.am_a, body="We are on it.")
    assert "We are on it" in client.get(url).content.decode()


def test_a_new_ticket_shows_on_home_and_in_the_am_workspace(client, world):
    client.force_login(world.member_a)
    assert "Printer on fire" not in warm(client, reverse("home"))
    am = type(client)()
    am.force_login(world.am_a)
    assert "Printer on fire" not in warm(am, reverse("portal:work_queue"))

    open_ticket(world)

    assert "Printer on fire" in client.get(reverse("home")).content.decode()
    assert "Printer on fire" in am.get(reverse("portal:work_queue")).content.decode()


def test_an_agents_queue_shows_a_new_ticket_of_their_department_in_any_organisation(client, world):
    client.force_login(world.agent)  # billing; on no organisation's team
    queue = reverse("tickets:queue")
    assert "Invoice twice" not in warm(client, queue)
    open_ticket(world, "Invoice twice", of_b=True, category="billing")
    assert "Invoice twice" in client.get(queue).content.decode()


def test_pages_across_accounts_cost_the_same_whatever_the_number_of_accounts(client, world):
    from accounts.tests.factories import AssignmentFactory, OrganisationFactory

    client.force_login(world.am_a)
    url = reverse("portal:work_queue")
    warm(client, url)
    few = queries(client, url)
    for _ in range(30):
        AssignmentFactory(organisation=OrganisationFactory(), user=world.am_a)
    warm(client, url)
    assert queries(client, url) == few


def test_a_write_to_another_organisation_keeps_this_one(client, world):
    client.force_login(world.member_a)
    home = reverse("home")
    warm(client, home)
    kept = queries(client, home)
    open_ticket(world, "Elsewhere", of_b=True)
    assert queries(client, home) == kept


def test_people_never_share_kept_content(client, world):
    open_ticket(world)
    client.force_login(world.member_a)
    warm(client, reverse("home"))
    other = type(client)()
    other.force_login(world.customer_admin_a)
    page = warm(other, reverse("home"))
    assert world.customer_admin_a.get_short_name() in page
    assert queries(other, reverse("home")) == queries(client, reverse("home"))
    keys = {
        page_cache.page_cache(request, "home", dict).key
        for request in (_request(world.member_a), _request(world.customer_admin_a))
    }
    assert len(keys) == 2


def test_what_changes_with_the_clock_alone_is_at_most_a_minute_old(world, monkeypatch):
    # Moves the pinned clock itself.
    request = _request(world.member_a)
    keys = []
    for second in range(0, 181, 10):
        monkeypatch.setattr(page_cache, "clock", lambda second=second: 1_800_000_000 + second)
        keys.append(page_cache.page_cache(request, "home", dict).key)
    assert 3 <= len(set(keys)) <= 4  # a new key each minute, never a key kept longer
    assert all(len(set(keys[i : i + 7])) == 2 for i in range(len(keys) - 6))


def test_nothing_is_kept_without_a_csrf_cookie(world):
    request = _request(world.member_a, csrf=None)
    assert page_cache.page_cache(request, "home", dict).key is None


def test_a_rolled_back_write_never_brings_old_content_back(world):
    request = _request(world.member_a)
    before = page_cache.page_cache(request, "home", dict).key
    with transaction.atomic():
        relationship_services.last_contact_record(organisation=world.org_a, at=timezone.now())
        during = page_cache.page_cache(request, "home", dict).key
        transaction.set_rollback(True)
    assert during != before
    assert page_cache.page_cache(request, "home", dict).key == before  # the same data
    relationship_services.last_contact_record(organisation=world.org_a, at=timezone.now())
    assert page_cache.page_cache(request, "home", dict).key not in (before, during)


def test_an_ended_or_removed_account_team_term_renews_the_am_pages(world):
    from django.test import RequestFactory

    from accounts.models import AccountAssignment

    request = RequestFactory().get("/")
    request.user, request.META["CSRF_COOKIE"] = world.am_a, "a" * 32
    key = lambda: page_cache.page_cache(request, "workspace", dict, across_accounts=True).key  # noqa: E731
    before = key()
    term = AccountAssignment.objects.filter(user=world.am_a)
    term.update(ended_at=timezone.now())
    ended = key()
    assert ended != before
    term.delete()
    assert key() not in (before, ended)


@pytest.mark.parametrize("name", ["portal:orders", "portal:timeline"])
def test_lists_answer_htmx_with_the_fragment_from_their_own_entry(client, world, name):
    client.force_login(world.member_a)
    url = reverse(name)
    whole = warm(client, url)
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" in whole
    assert "<html" not in fragment


@pytest.mark.parametrize("first", ["fragment", "restore"])
def test_a_fragment_a_history_restore_and_the_page_never_share_an_entry(client, world, first):
    """Back after htmx pushed a filtered URL asks for the whole page (HX-History-Restore-
    Request): it must never get the rows fragment kept for the same URL, nor the reverse."""
    client.force_login(world.member_a)
    url = reverse("portal:orders") + "?status="
    fragment_headers = {"HX-Request": "true"}
    restore_headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    whole = warm(client, url)
    asked = [fragment_headers, restore_headers]
    for headers in asked if first == "fragment" else asked[::-1]:
        client.get(url, headers=headers)  # kept, in this order
    fragment = client.get(url, headers=fragment_headers).content.decode()
    restore = client.get(url, headers=restore_headers).content.decode()
    assert 'id="order-filters"' in whole
    assert 'id="order-filters"' in restore, "a history restore got the rows fragment"
    assert 'id="order-filters"' not in fragment, "the fragment got the whole page's block"
    assert "<html" not in fragment


def test_page_cache_off_builds_every_request_and_renews_nothing(client, world, settings):
    settings.PAGE_CACHE = False
    client.force_login(world.member_a)
    home = reverse("home")
    warm(client, home)
    first, second = statements(client, home), statements(client, home)
    settings.PAGE_CACHE = True
    warm(client, home)
    assert not reads_content(statements(client, home))  # on: kept
    assert reads_content(first)  # off: built each time
    assert reads_content(second)
    assert len(first) == len(second)
    settings.PAGE_CACHE = False
    request = _request(world.member_a)
    with CaptureQueriesContext(connection) as captured:
        assert page_cache.page_cache(request, "home", dict).key is None
    assert len(captured) == 0  # not even the data versions


def test_hits_and_misses_are_counted_per_page(client, world):
    client.force_login(world.member_a)
    page_cache.counts.clear()
    warm(client, reverse("home"))  # no cookie yet (not counted), a miss
    client.get(reverse("home"))  # a hit
    renew(world.org_a.pk)
    client.get(reverse("home"))  # a miss
    assert page_cache.counts["home"] == {"hit": 1, "miss": 2}


def _request(user, csrf="a" * 32):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    request.organisation = user.memberships.get().organisation
    if csrf:
        request.META["CSRF_COOKIE"] = csrf
    return request


def test_nothing_is_kept_by_default_without_redis():
    """`make run` on SQLite: a page kept in one process's memory would not see what
    `manage.py sync` or the mailbox poll wrote from another."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = "from django.conf import settings; print(settings.PAGE_CACHE)"
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PAGE_CACHE")}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    done = subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env, capture_output=True, text=True, timeout=60, check=True, cwd=settings.BASE_DIR,
    )  # fmt: skip
    assert done.stdout.strip() == "False"
