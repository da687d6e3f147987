"""Pages make a number of SQL queries that does not grow with the data.

Each page is measured at two data sizes; both runs must stay under the
pinned maximum and make the same number of queries.
"""

from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.two_factor import Client
from conftest import world_create
from tests.helpers import as_browser
from tickets import services

# Database tests (pytest-django runs them before the transactional ones, some of which migrate
# apps back and forth), though most measure in a module fixture and only check the figures.
pytestmark = pytest.mark.django_db


def add_tickets(world, count: int) -> list:
    tickets = []
    for i in range(count):
        ticket = services.ticket_create(
            organisation=world.org_a,
            requester=world.member_a,
            subject=f"Ticket {i}",
            category="delivery" if i % 2 else "billing",
            priority="normal",
            body="x",
            attachments=[SimpleUploadedFile(f"f{i}.txt", b"hello")],
        )
        services.ticket_reply(ticket=ticket, author=world.am_a, body="Note", internal=True)
        services.ticket_reply(ticket=ticket, author=world.am_a, body="Answer")
        if i % 3 == 0:
            services.ticket_set_status(ticket=ticket, by=world.member_a, status="resolved")
            services.ticket_rate(ticket=ticket, by=world.member_a, csat=4, effort=4)
            services.ticket_triage(
                ticket=ticket,
                by=world.admin,
                assignee=world.agent,
                department="logistics",
                priority="normal",
                feedback_department="logistics",
            )
        tickets.append(ticket)
    return tickets


def count_queries(client, url) -> int:
    status, queries = _status_and_queries(client, url)
    assert status == 200, url
    return queries


def measure_at_two_sizes(django_db_blocker, pages, *, small, large, url) -> list:
    """Each page's (status, queries) with little data and with more, in the order of
    `pages`, each page asked by its own client (signed in as the page's role): `small(world)`
    and `large(world)` add the data, `url(world, page)` is the page's address. Both sizes
    are built once for all the pages of a module instead of once per page, in a transaction
    rolled back before its tests run; each test then checks its own page's figures."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = world_create()
        small(world)
        clients = [Client() for _ in pages]
        for page, client in zip(pages, clients, strict=True):
            client.force_login(getattr(world, page[0]))

        def measure():
            return [
                _status_and_queries(client, url(world, page))
                for page, client in zip(pages, clients, strict=True)
            ]

        with_little = measure()
        large(world)
        with_more = measure()
        transaction.set_rollback(True)
    return list(zip(with_little, with_more, strict=True))


def _status_and_queries(client, url) -> tuple[int, int]:
    """Status and queries of one request, built (not kept: the data changed since the last
    one) by a browser that has its CSRF cookie (as_browser)."""
    with CaptureQueriesContext(connection) as queries:
        response = as_browser(client).get(url)
    return response.status_code, len(queries)


def assert_flat(measured, url, maximum) -> None:
    """The page answered at both sizes, with as many queries at both, within its pin."""
    (small_status, small), (large_status, large) = measured
    assert small_status == large_status == 200, f"{url}: {small_status}, {large_status}"
    assert large == small, f"{url}: {small} queries with little data, {large} with more"
    assert large <= maximum, f"{url}: {large} queries, pinned at {maximum}"


# (who, url name, pinned maximum); the url may need the first ticket's id. Staff pages
# pay one more: django-otp reads the device that verified the session (two-factor sign-in).
PAGES = [
    # +2 with the next review and open commitments (issue 7); +1 the totals to pay (issue 26)
    # -8: its reads in one round trip (config/prepared.py's together; issue 26)
    ("member_a", "home", 10),
    ("member_a", "tickets:list", 11),  # +1: who opened them (the "Opened by" filter)
    ("member_a", "tickets:detail", 12),  # +1: tickets merged into it (issue 16)
    ("member_a", "tiers:mine", 11),
    ("customer_admin_a", "accounts:members", 11),  # +1: the invitations waiting
    # +2: relationship counts, health rows; +1: the tier filter; -2: the list's count and
    # the AM's roles read with the counts and the rows (issue 26)
    ("am_a", "home", 8),
    (
        "am_a",
        "tickets:detail",
        13,
    ),  # +3: canned replies, merged tickets, merge candidates; +1 two-factor
    # +1: the help articles staff may link in a reply
    ("am_a", "tickets:queue", 9),  # +1: the kept content's data versions (issue 26)
    # the frame, the data versions, "Your tasks", and its reads in one round trip
    # (config/prepared.py's together; issue 26)
    ("am_a", "portal:work_queue", 4),
    ("am_a", "tickets:insights", 10),
    ("admin", "tickets:queue", 9),  # +1: the data versions
    ("admin", "tickets:insights", 10),
]


@pytest.fixture(scope="module")
def ticket_pages(django_db_setup, django_db_blocker):
    def small(world):
        world.first = add_tickets(world, 2)[0]

    def large(world):
        add_tickets(world, 12)
        for _ in range(8):
            services.ticket_reply(ticket=world.first, author=world.member_a, body="More")
            services.ticket_reply(ticket=world.first, author=world.am_a, body="Note", internal=True)

    def url(world, page):
        name = page[1]
        return reverse(name, args=[world.first.pk]) if name == "tickets:detail" else reverse(name)

    return measure_at_two_sizes(django_db_blocker, PAGES, small=small, large=large, url=url)


@pytest.mark.parametrize("page", PAGES, ids=[f"{p[0]}-{p[1]}" for p in PAGES])
def test_page_queries_do_not_grow_with_data(ticket_pages, page):
    role, name, maximum = page
    assert_flat(ticket_pages[PAGES.index(page)], f"{name} as {role}", maximum)


def test_identity_screens_queries_do_not_grow_with_customers_or_candidates(client, world):
    from accounts.tests.factories import OrganisationFactory
    from portal.sync.identity import identity_match, resolve_queue
    from portal.sync.models import CustomerIdentity

    def add(n, start):
        for i in range(start, start + n):
            OrganisationFactory(name=f"Harbour Clinic {i}", customer_number=f"C-H{i}")
        CustomerIdentity.objects.bulk_create(
            CustomerIdentity(system="oe", external_id=f"OE-{i}", external_name=f"HARBR CLINC {i}")
            for i in range(start, start + n)
        )
        resolve_queue()  # each waits with candidates

    def pages():
        first = CustomerIdentity.objects.filter(status="waiting").order_by("pk").first()
        detail = reverse("portal:identity", args=[first.pk])
        chosen = first.candidates[0]["organisation"]
        return [
            reverse("portal:identity_queue"),
            detail,
            f"{detail}?organisation={chosen}&q=harbour",
        ]

    client.force_login(world.admin)  # an admin: every candidate is one they may choose
    add(2, 0)
    small = [count_queries(client, url) for url in pages()]
    add(40, 100)
    mover = CustomerIdentity.objects.filter(status="waiting").order_by("pk").first()
    for organisation in (world.org_a, world.org_b, None):  # history grows on its page
        identity_match(identity=mover, organisation=organisation, by=world.admin)
    large = [count_queries(client, url) for url in pages()]
    assert large == small
    assert large <= [12, 10, 13]  # +1: the device behind the staff member's second factor


RECORD_PAGES = [
    # +1: the totals to pay per currency; -8: its reads in one round trip (issue 26)
    ("member_a", "home", 10),
    ("member_a", "portal:orders", 12),
    ("member_a", "portal:order", 13),
    ("member_a", "portal:shipments", 11),
    ("member_a", "portal:invoices", 12),  # +1: the open and overdue totals (issue 17)
    ("member_a", "portal:invoice", 10),
    ("member_a", "portal:timeline", 9),
]


@pytest.fixture(scope="module")
def record_pages(django_db_setup, django_db_blocker):
    from portal.records.models import Invoice
    from portal.tests.records import add_orders

    def small(world):
        world.first = add_orders(world.org_a, 2)[0]
        world.invoice = Invoice.objects.first()

    def large(world):
        add_orders(world.org_a, 30, start=10)

    def url(world, page):
        args = {"portal:order": [world.first.pk], "portal:invoice": [world.invoice.pk]}
        return reverse(page[1], args=args.get(page[1], []))

    return measure_at_two_sizes(django_db_blocker, RECORD_PAGES, small=small, large=large, url=url)


@pytest.mark.parametrize("page", RECORD_PAGES, ids=[f"{p[0]}-{p[1]}" for p in RECORD_PAGES])
def test_record_pages_queries_do_not_grow_with_data(record_pages, page):
    role, name, maximum = page
    assert_flat(record_pages[RECORD_PAGES.index(page)], f"{name} as {role}", maximum)


# Help articles (docs/knowledge-base.md): the page's own queries are one or two (the list,
# the categories; search in English; insights three); the rest is the frame's.
HELP_PAGES = [
    ("member_a", "knowledge:list", {}, 7),
    ("member_a", "knowledge:list", {"q": "delivery parcel"}, 7),
    ("member_a", "knowledge:article", {}, 6),
    ("member_a", "knowledge:suggest", {"subject": "my parcel is late"}, 4),
    ("am_a", "knowledge:list", {}, 5),
    ("am_a", "knowledge:insights", {}, 6),
]


def add_tasks_and_followers(world, count: int, ticket) -> None:
    """AM tasks on A (by hand and by the rules), followers and digest items (issue 28)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import AccountFollow, DigestItem
    from accounts.tests.factories import MembershipFactory, UserFactory
    from portal.am_tasks import services as task_services
    from portal.am_tasks.rules import am_task_rules_run
    from tickets import followers

    today = timezone.localdate()
    for i in range(count):
        task_services.am_task_create(
            by=world.am_a, organisation_id=world.org_a.pk, title=f"Task {i}",
            due_on=today + timedelta(days=i % 9 - 3),
        )  # fmt: skip
        colleague = UserFactory()
        MembershipFactory(user=colleague, organisation=world.org_a)
        followers.ticket_cc(ticket=ticket, by=world.member_a, email=colleague.email)
        DigestItem.objects.create(
            user=world.am_a, kind="ticket_new", key=f"k{count}:{i}", subject="s"
        )
    AccountFollow.objects.get_or_create(user=world.am_a, organisation=world.org_a)
    am_task_rules_run()


# Pages of issue 28 (notifications, tasks, own team): (who, url name, pinned maximum).
PAGES_28 = [
    ("member_a", "accounts:notifications", 7),
    ("am_a", "accounts:notifications", 5),
    ("am_a", "portal:am_tasks", 6),
    ("am_a", "accounts:own_team", 10),
    ("am_a", "home", 8),  # My accounts with "Your tasks" (+1); -2 count and roles (issue 26)
    ("am_a", "portal:work_queue", 4),  # its reads in one round trip (issue 26)
    ("am_a", "portal:account", 11),  # +1 follows it? -1 one account query, +1 data versions
    ("member_a", "tickets:detail", 11),  # +1: who follows it
]


@pytest.fixture(scope="module")
def help_pages(django_db_setup, django_db_blocker):
    from tickets.knowledge.models import Category
    from tickets.knowledge.services import article_save, deflection_record

    def add_articles(world, n, start):
        made = []
        for i in range(start, start + n):
            audience = ["everyone", "tiers", "organisations"][i % 3]
            made.append(
                article_save(
                    by=world.admin,
                    title=f"Parcel delivery help {i}",
                    category=world.category,
                    body="Your parcel delivery, tracked.",
                    audience=audience,
                    tiers=[world.tier] if audience == "tiers" else [],
                    organisations=[world.org_a] if audience == "organisations" else [],
                    publish=i % 4 != 0,
                )
            )
            if made[-1].is_published:
                deflection_record(article=made[-1], person=world.member_a, organisation=world.org_a)
        return made

    def small(world):
        world.category = Category.objects.create(name="Deliveries", slug="deliveries")
        world.first = add_articles(world, 3, 1)[0]

    def url(world, page):
        _, name, query, _ = page
        args = [world.first.pk] if name == "knowledge:article" else []
        return reverse(name, args=args) + ("?" + urlencode(query) if query else "")

    return measure_at_two_sizes(
        django_db_blocker,
        HELP_PAGES,
        small=small,
        large=lambda world: add_articles(world, 20, 10),
        url=url,
    )


@pytest.mark.parametrize(
    "page", HELP_PAGES, ids=[f"{p[0]}-{p[1]}-{'-'.join(p[2])}" for p in HELP_PAGES]
)
def test_help_pages_queries_do_not_grow_with_articles(help_pages, page):
    role, name, query, maximum = page
    assert_flat(help_pages[HELP_PAGES.index(page)], f"{name} {query} as {role}", maximum)


@pytest.fixture(scope="module")
def issue_28_pages(django_db_setup, django_db_blocker):
    def small(world):
        world.ticket = add_tickets(world, 1)[0]
        add_tasks_and_followers(world, 2, world.ticket)

    def url(world, page):
        args = {"tickets:detail": [world.ticket.pk], "accounts:own_team": [world.org_a.pk],
                "portal:account": [world.org_a.pk]}.get(page[1], [])  # fmt: skip
        return reverse(page[1], args=args)

    return measure_at_two_sizes(
        django_db_blocker,
        PAGES_28,
        small=small,
        large=lambda world: add_tasks_and_followers(world, 15, world.ticket),
        url=url,
    )


@pytest.mark.parametrize("page", PAGES_28, ids=[f"{p[0]}-{p[1]}" for p in PAGES_28])
def test_issue_28_pages_queries_do_not_grow_with_tasks_or_followers(issue_28_pages, page):
    role, name, maximum = page
    assert_flat(issue_28_pages[PAGES_28.index(page)], f"{name} as {role}", maximum)
