"""Queries built once per process (config/prepared.py) answer as the querysets they stand
for, for every user and value, and refuse to keep what a request's values would change."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import DateTimeField, Value
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Organisation
from config import prepared
from portal.records import selectors as records
from portal.records.models import Order
from portal.tests.records import add_orders
from tickets import selectors as tickets

pytestmark = pytest.mark.django_db

PEOPLE = ["member_a", "member_b", "am_a", "am_b", "agent", "admin", "customer_admin_a"]


def _orders_of(limit: int, *, user, organisation: int):
    return records.order_rows(records.order_list(user=user, organisation=organisation))[:limit]


@pytest.fixture
def orders(world):
    add_orders(world.org_a, 4)
    add_orders(world.org_b, 3)
    return world


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    person=st.sampled_from(PEOPLE), org=st.sampled_from(["org_a", "org_b"]), limit=st.integers(1, 6)
)
def test_prepared_rows_are_the_querysets_rows_for_everyone(orders, person, org, limit):
    """Whoever asks, of whichever organisation: the same orders, with the same annotations,
    as the queryset built afresh; another organisation's only where the policy allows."""
    user, organisation = getattr(orders, person), getattr(orders, org)
    expected = list(_orders_of(limit, user=user, organisation=organisation.pk))
    found = prepared.objects(_orders_of, limit, user=user, organisation=organisation.pk)
    shown = ("pk", "number", "status_shown", "line_count", "shipment_status", "total")
    assert [[getattr(o, f) for f in shown] for o in found] == [
        [getattr(o, f) for f in shown] for o in expected
    ]
    visible = Organisation.objects.visible_to(user).filter(pk=organisation.pk).exists()
    assert bool(found) == visible


def test_the_home_lists_keep_to_the_policy(orders):
    """An outsider asking for another organisation's recent orders gets none."""
    assert records.recent_orders(user=orders.member_b, organisation=orders.org_a) == []
    assert len(records.recent_orders(user=orders.member_a, organisation=orders.org_a)) == 4


def test_a_new_day_reaches_prepared_sql(orders):
    """The day is a parameter, never kept: an invoice turns overdue when its day passes."""
    invoice = records.invoice_list(user=orders.member_a, organisation=orders.org_a).first()
    invoice.due_on, invoice.paid_on, invoice.status = date(2030, 1, 10), None, "open"
    invoice.save()

    def state_on(day):
        rows = prepared.objects(_due, user=orders.member_a, organisation=orders.org_a.pk, today=day)
        return {row.pk: row.state for row in rows}[invoice.pk]

    assert state_on(date(2030, 1, 10)) == "open"
    assert state_on(date(2030, 1, 11)) == "overdue"


def _due(*, user, organisation: int, today: date):
    return records.invoice_list(user=user, organisation=organisation, today=today).select_related(
        None
    )


def test_a_build_that_reads_the_clock_is_refused(world):
    def reads_clock(*, organisation: int):
        return Order.objects.filter(organisation=organisation, ordered_at__lt=timezone.now())

    with pytest.raises(ValueError, match="pass it as a value"):
        prepared.rows(reads_clock, organisation=world.org_a.pk)


def test_a_value_derived_from_one_given_is_refused(world):
    def derives(*, organisation: int, today: date):
        return Order.objects.filter(
            organisation=organisation, ordered_at__date=today + timedelta(1)
        )

    with pytest.raises(ValueError, match="derived"):
        prepared.rows(derives, organisation=world.org_a.pk, today=date(2026, 1, 1))


def test_a_value_the_sql_does_not_take_is_refused(world):
    def ignores(*, organisation: int):
        return Order.objects.filter(pk=1)

    with pytest.raises(ValueError, match="not a parameter"):
        prepared.rows(ignores, organisation=world.org_a.pk)


def test_a_build_that_runs_a_query_is_refused(world):
    def queries(*, organisation: int):
        first = Order.objects.filter(organisation=organisation).first()
        return Order.objects.filter(organisation=organisation, pk=getattr(first, "pk", 0))

    with pytest.raises(RuntimeError, match="ran a query"):
        prepared.rows(queries, organisation=world.org_a.pk)


def test_the_time_zone_is_part_of_the_key(world):
    """The same build under two time zones: each truncates days in its own."""

    def days(*, organisation: int):
        moment = Value(datetime(2001, 1, 1, tzinfo=UTC), output_field=DateTimeField())
        return Order.objects.filter(organisation=organisation).annotate(day=TruncDate(moment))

    def zone_param(zone):
        with timezone.override(zone):
            return [p for p in prepared.prepared_sql(days, organisation=1)[1] if p == zone]

    assert zone_param("Europe/Berlin") == ["Europe/Berlin"]
    assert zone_param("America/New_York") == ["America/New_York"]


def test_open_tickets_on_the_home_carry_their_sla_state(world):
    from tickets import services

    ticket = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Late",
        category="billing",
        priority="normal",
        body="x",
    )
    found = tickets.open_tickets(user=world.member_a, organisation=world.org_a)
    expected = tickets.ticket_list(user=world.member_a, organisation=world.org_a, status="open")
    assert [(t.pk, t.sla_state) for t in found] == [(t.pk, t.sla_state) for t in expected]
    assert found[0].pk == ticket.pk
    assert tickets.open_tickets(user=world.member_b, organisation=world.org_a) == []


def _orders_by(sort: str, *, user, organisation: int):
    return records.order_rows(records.order_list(user=user, organisation=organisation, sort=sort))


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_a_page_is_the_querysets_slice_and_every_page_runs_one_sql(orders, sort):
    """LIMIT and OFFSET are parameters: the pages of a list share one SQL statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user, organisation = orders.member_a, orders.org_a.pk
    page = prepared.Page(_orders_by, sort, count=4, user=user, organisation=organisation)
    expected = [o.pk for o in _orders_by(sort, user=user, organisation=organisation)]
    statements = set()
    for start, stop in ((0, 3), (3, 6), (1, 2)):
        with CaptureQueriesContext(connection) as run:
            assert [o.pk for o in page[start:stop]] == expected[start:stop]
        statements |= {query["sql"].split(" LIMIT ")[0] for query in run.captured_queries}
        assert all(" LIMIT " in query["sql"] for query in run.captured_queries)
    assert len(statements) == 1
    assert page[4:4] == []


def test_a_page_refuses_a_build_that_slices(orders):
    page = prepared.Page(_orders_of, 3, count=4, user=orders.member_a, organisation=orders.org_a.pk)
    with pytest.raises(ValueError, match="must not slice"):
        page[0:2]


def test_annotations_come_back_as_the_orm_gives_them(world):
    """Raw rows convert only the model's fields: a prepared query's annotations (a moment,
    a day, a flag) are converted too, so SQLite's text and numbers read as the ORM's."""
    from django.db.models import BooleanField, DateField, F, Value

    def annotated(*, organisation: int):
        return Organisation.objects.filter(pk=organisation).annotate(
            made=F("created_at"),
            day=Value(date(2030, 5, 6), output_field=DateField()),
            flag=Value(True, output_field=BooleanField()),
        )

    found = prepared.objects(annotated, organisation=world.org_a.pk)
    expected = annotated(organisation=world.org_a.pk)
    assert [(o.made, o.day, o.flag) for o in found] == [(o.made, o.day, o.flag) for o in expected]
    assert isinstance(found[0].day, date)
    assert found[0].flag is True


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    person=st.sampled_from(PEOPLE),
    sort=st.sampled_from(sorted(records.ORDER_SORTS)),
    start=st.integers(0, 6),
    size=st.integers(0, 6),
)
def test_any_slice_of_a_page_is_the_querysets(orders, person, sort, start, size):
    user, organisation = getattr(orders, person), orders.org_a.pk
    expected = list(_orders_by(sort, user=user, organisation=organisation))
    page = prepared.Page(
        _orders_by, sort, count=len(expected), user=user, organisation=organisation
    )
    found = page[start : start + size]
    assert [(o.pk, o.total, o.line_count) for o in found] == [
        (o.pk, o.total, o.line_count) for o in expected[start : start + size]
    ]


@pytest.mark.parametrize("only", [(), ("email", "away_until", "is_active")])
def test_instances_are_the_orms_field_for_field(world, only):
    """Every field converted as the ORM converts it (SQLite's dates, moments and flags),
    and a build that reads some fields defers the others as the ORM's does."""
    from accounts.models import User

    User.objects.filter(pk=world.am_a.pk).update(away_until=date(2031, 2, 3))

    def people(*, since: datetime):
        found = User.objects.filter(date_joined__gte=since).order_by("pk")
        return found.only(*only) if only else found

    since = datetime(2001, 1, 1, tzinfo=UTC)
    found, expected = prepared.objects(people, since=since), list(people(since=since))
    assert len(found) == len(expected) > 3
    for mine, theirs in zip(found, expected, strict=True):
        assert mine.get_deferred_fields() == theirs.get_deferred_fields()
        shown = [
            f.attname
            for f in User._meta.concrete_fields
            if f.attname not in mine.get_deferred_fields()
        ]
        assert [getattr(mine, name) for name in shown] == [getattr(theirs, name) for name in shown]
        assert mine._state.db == theirs._state.db
        assert not mine._state.adding


def test_together_answers_each_read_as_it_answers_alone_in_one_round_trip(orders):
    """The reads learned by the first pass go in one round trip and answer as they do one
    by one; a query the first pass did not make (its limit decided by another's rows) runs
    on its own, so what is shown never comes from the first pass."""

    def read():
        recent = records.recent_orders(user=orders.member_a, organisation=orders.org_a)
        theirs = records.recent_orders(user=orders.member_b, organisation=orders.org_b)
        more = prepared.objects(
            _orders_of, len(recent) + 1, user=orders.member_a, organisation=orders.org_a.pk
        )
        return [[order.pk for order in found] for found in (recent, theirs, more)]

    alone = read()
    with CaptureQueriesContext(connection) as queries:
        found = prepared.together(read)
    assert found == alone
    assert [len(pks) for pks in found] == [4, 3, 4]
    # PostgreSQL: the two lists learned, together, and the third alone; SQLite: one by one
    assert len(queries) == (2 if connection.vendor == "postgresql" else 3)


def test_together_runs_a_read_that_needs_rows_to_go_on_as_it_is(orders):
    """A read that fails on no rows (the first pass's answers) is simply run."""

    def read():
        return records.recent_orders(user=orders.member_a, organisation=orders.org_a)[0].pk

    assert prepared.together(read) == read()


def test_a_model_someone_listens_to_being_made_is_made_by_the_orm(world):
    """pre_init and post_init receivers hear every instance a prepared query makes."""
    from django.db.models.signals import post_init

    from accounts.models import User

    def people(*, since: datetime):
        return User.objects.filter(date_joined__gte=since).order_by("pk").only("email")

    heard = []

    def listen(sender, instance, **kwargs):
        heard.append(instance.email)

    since = datetime(2001, 1, 1, tzinfo=UTC)
    post_init.connect(listen, sender=User)
    try:
        found = prepared.objects(people, since=since)
    finally:
        post_init.disconnect(listen, sender=User)
    assert heard == [person.email for person in found]
    assert len(heard) > 3
