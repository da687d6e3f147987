"""The business-review pack: its figures, checked in the generated PDF and slides against
the database; who may open it; drafts and sharing; its query budget."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pptx import Presentation
from pypdf import PdfReader

from accounts.models import AuditEvent
from portal.records.models import Invoice, Order
from portal.relationship import pack as pack_selectors
from portal.relationship import services
from portal.relationship.health import DEFAULT_WEIGHTS
from portal.relationship.models import Commitment, Engagement, HealthScore, ReviewPack
from portal.relationship.pack_files import money, pack_pdf, pack_pptx
from portal.tests.records import source
from tickets.choices import Category
from tickets.models import Improvement, Rating, Ticket
from tiers.models import ExchangeRate

# --- Building an account's period at random ------------------------------------------------------


@dataclass
class Period:
    previous: Engagement
    review: Engagement
    start: date
    end: date


def _at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def make_reviews(world, length: int, ago: int) -> Period:
    """A held QBR `length` days before this one, held `ago` days ago, with next steps."""
    end = timezone.localdate() - timedelta(days=ago)
    previous = Engagement.objects.create(
        organisation=world.org_a, kind="qbr", on=end - timedelta(days=length),
        next_steps="Send the monthly stock report; fix the Tuesday deliveries.",
    )  # fmt: skip
    review = Engagement.objects.create(organisation=world.org_a, kind="qbr", on=end)
    return Period(previous=previous, review=review, start=previous.on + timedelta(1), end=end)


def shared_pack(world, period: Period, summary="A steady quarter.") -> ReviewPack:
    return services.review_pack_save(
        by=world.am_a,
        engagement=period.review,
        summary=summary,
        next_steps="Book the stock review.",
        share=True,
    )


days = st.integers(min_value=-20, max_value=220)  # offsets from the period's start
orders_st = st.lists(st.tuples(days, st.booleans()), max_size=25)
invoices_st = st.lists(
    st.tuples(days, st.integers(-50_000, 400_000), st.sampled_from(["GBP", "EUR", "USD"])),
    max_size=20,
)
tickets_st = st.lists(
    st.tuples(
        days,
        st.sampled_from(Category.values),
        st.booleans(),  # met its SLA
        st.one_of(st.none(), st.tuples(st.integers(1, 5), st.integers(1, 5))),
        st.booleans(),  # led to an improvement
    ),
    max_size=20,
)
commitments_st = st.lists(
    st.tuples(
        st.sampled_from(["open", "done", "dropped"]),
        days,  # due
        days,  # closed
        st.booleans(),  # made at the last review
    ),
    max_size=10,
)
health_st = st.dictionaries(days, st.integers(0, 100), max_size=12)


def _in(period: Period, day: date) -> bool:
    return period.start <= day <= period.end


def _month(day: date) -> str:
    return f"{day:%b %Y}"


def build(world, period: Period, orders, invoices, tickets, commitments, scores) -> dict:
    """Rows of every kind around the period; returns what the pack must say, computed here
    from what was written (not by the code under test)."""
    src, now = source(), timezone.now()
    expect: dict = {
        "orders": Counter(),
        "revenue": defaultdict(Decimal),
        "tickets": Counter(),
        "met": Counter(),
        "judged": Counter(),
        "csat": defaultdict(list),
        "categories": Counter(),
        "left_out": defaultdict(Decimal),
    }
    rate = Decimal("0.85")
    ExchangeRate.objects.update_or_create(currency="EUR", defaults={"rate": rate})

    for i, (offset, deleted) in enumerate(orders):
        day = period.start + timedelta(days=offset)
        Order.objects.create(
            source=src, external_id=f"O{i}", organisation=world.org_a, content_hash="x",
            synced_at=now, customer_id="C", number=f"SO-{i}", status="open",
            ordered_at=_at(day), deleted_at=now if deleted else None,
        )  # fmt: skip
        if _in(period, day) and not deleted:
            expect["orders"][_month(day)] += 1
    # Another organisation's orders never count.
    Order.objects.create(
        source=src, external_id="OB", organisation=world.org_b, content_hash="x", synced_at=now,
        customer_id="C", number="SO-B", status="open", ordered_at=_at(period.end),
    )  # fmt: skip

    for i, (offset, cents, currency) in enumerate(invoices):
        day = period.start + timedelta(days=offset)
        amount = Decimal(cents) / 100
        Invoice.objects.create(
            source=src, external_id=f"I{i}", organisation=world.org_a, content_hash="x",
            synced_at=now, customer_id="C", number=f"INV-{i}", amount=amount,
            currency=currency, issued_on=day,
        )  # fmt: skip
        if not _in(period, day):
            continue
        if currency == "USD":  # no rate: reported, never added
            expect["left_out"]["USD"] += amount
        else:
            expect["revenue"][_month(day)] += amount * (rate if currency == "EUR" else 1)

    for i, (offset, category, met, rating, improved) in enumerate(tickets):
        opened = _at(period.start + timedelta(days=offset), hour=9)
        ticket = Ticket.objects.create(
            organisation=world.org_a, subject=f"Ticket {i}", category=category,
            department="logistics", status="resolved", created_at=opened,
            first_response_due_at=opened + timedelta(hours=4),
            first_responded_at=opened + timedelta(hours=1),
            resolution_due_at=opened + timedelta(days=1),
            resolved_at=opened + (timedelta(hours=5) if met else timedelta(days=2)),
        )  # fmt: skip
        if rating:
            Rating.objects.create(ticket=ticket, csat=rating[0], effort=rating[1])
        if improved:
            ticket.improvement = Improvement.objects.create(
                department="logistics", title=f"Fix {i}", status="done", what_changed=f"Changed {i}"
            )
            ticket.save(update_fields=["improvement"])
        day = timezone.localtime(opened).date()
        if _in(period, day):
            month = _month(day)
            expect["tickets"][month] += 1
            expect["judged"][month] += 1
            expect["met"][month] += met
            expect["categories"][Category(category).label] += 1
            if rating:
                expect["csat"][month].append(rating)

    expect["commitments"] = {}
    for i, (state, due, closed, at_last) in enumerate(commitments):
        closed_at = None if state == "open" else _at(period.start + timedelta(days=closed))
        commitment = Commitment.objects.create(
            organisation=world.org_a, title=f"Promise {i}", status=state,
            due_on=period.start + timedelta(days=due), closed_at=closed_at,
            engagement=period.previous if at_last else None,
        )  # fmt: skip
        in_period = closed_at is not None and _in(period, timezone.localtime(closed_at).date())
        shown = state == "open" or in_period
        expect["commitments"][commitment.title] = (state, shown, at_last)

    weights = {str(k): v for k, v in DEFAULT_WEIGHTS.items()}
    for offset, score in scores.items():
        HealthScore.objects.create(
            organisation=world.org_a, computed_on=period.start + timedelta(days=offset),
            computed_at=now, score=score, colour="green" if score >= 70 else "amber",
            sla_breaches=1, orders_recent=3, orders_previous=4, overdue_invoices=0,
            overdue_commitments=0, days_since_contact=10, reviews_overdue=0, weights=weights,
        )  # fmt: skip
    in_period = sorted((period.start + timedelta(o), s) for o, s in scores.items())
    expect["health"] = [(d, s) for d, s in in_period if _in(period, d)]
    return expect


# --- Reading the files back ----------------------------------------------------------------------


def pptx_tables(data: bytes) -> dict[str, list[list[str]]]:
    """Every table of the deck by its first header cell, rows joined across slides."""
    tables: dict[str, list[list[str]]] = defaultdict(list)
    for slide in Presentation(BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                tables[" | ".join(rows[0])] += rows[1:]
    return tables


def pptx_text(data: bytes) -> str:
    parts = []
    for slide in Presentation(BytesIO(data)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    """The PDF's text with runs of white space made one space."""
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)
    return re.sub(r"\s+", " ", text)


def pdf_images(data: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(BytesIO(data)).pages)


def expected_month_rows(period: Period, expect: dict) -> tuple[list, list]:
    service, orders = [], []
    month = period.start.replace(day=1)
    while month <= period.end:
        label = _month(month)
        judged = expect["judged"][label]
        attained = f"{round(100 * expect['met'][label] / judged)} %" if judged else "–"
        ratings = expect["csat"][label]
        csat = f"{sum(r[0] for r in ratings) / len(ratings):.1f}" if ratings else "–"
        effort = f"{sum(r[1] for r in ratings) / len(ratings):.1f}" if ratings else "–"
        service.append([label, str(expect["tickets"][label]), attained, csat, effort])
        orders.append([label, str(expect["orders"][label]), money(expect["revenue"][label], "GBP")])
        month = (month + timedelta(days=32)).replace(day=1)
    return service, orders


STATE_WORDS = {"open": "Open", "done": "Kept", "dropped": "Dropped"}


def check_files(world, period: Period, expect: dict, pdf: bytes, pptx: bytes) -> None:
    service, orders = expected_month_rows(period, expect)
    tables = pptx_tables(pptx)
    assert tables["Month | Tickets | SLA attained | CSAT | Effort"] == service
    assert tables["Month | Orders | Revenue (GBP)"] == orders
    categories = sorted(expect["categories"].items(), key=lambda kv: (-kv[1], kv[0]))
    assert tables["Category | Tickets"] == (
        [[label, str(n)] for label, n in categories] or [["No tickets", "0"]]
    )
    shown = {row[0]: row[1] for row in tables["Commitment | State | When"]}
    for title, (state, visible, _) in expect["commitments"].items():
        if visible:
            assert shown[title].startswith(STATE_WORDS[state])
        else:
            assert title not in shown
    then = {row[0]: row[1] for row in tables["Promised then | Now | When"]}
    assert then == {
        title: state.capitalize()
        for title, (state, _, at_last) in expect["commitments"].items()
        if at_last
    }

    text, words = pdf_text(pdf), pptx_text(pptx)
    total = sum(expect["revenue"].values(), Decimal(0))
    for content in (text, words):
        assert world.org_a.name in content
        assert f"{sum(expect['orders'].values())} order" in content
        assert f"revenue {money(total, 'GBP')}" in content
        assert "fix the Tuesday deliveries" in content  # the last review's next steps
        for currency, amount in expect["left_out"].items():
            assert f"Not converted (no exchange rate): {money(amount, currency)}" in content
        if expect["health"]:
            (first_day, first), (_last_day, last) = expect["health"][0], expect["health"][-1]
            assert f"Health score {last} of 100" in content
            assert f"Trend: {first} on {first_day:%-d %b %Y}, {last} on" in content
        else:
            assert "No health score in this period." in content
    # The PDF's tables hold the same rows, cell after cell.
    for row in service + orders:
        assert " ".join(row) in text, row
    # Charts: SLA, orders and revenue (and the health trend, with two scores or more) are
    # vector drawings in the PDF and pictures in the slides.
    charts = 3 + (len(expect["health"]) >= 2)
    assert (
        sum(1 for s in Presentation(BytesIO(pptx)).slides for p in s.shapes if p.shape_type == 13)
        == charts
    )
    assert pdf_images(pdf) == 0  # vectors, not pictures


# --- The files against the database --------------------------------------------------------------


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    length=st.integers(20, 200),
    ago=st.integers(0, 20),
    orders=orders_st,
    invoices=invoices_st,
    tickets=tickets_st,
    commitments=commitments_st,
    scores=health_st,
)
def test_the_pack_files_state_the_figures_of_the_database(
    world, length, ago, orders, invoices, tickets, commitments, scores
):
    with transaction.atomic():
        period = make_reviews(world, length, ago)
        expect = build(world, period, orders, invoices, tickets, commitments, scores)
        pack = shared_pack(world, period)
        assert (pack.period_start, pack.period_end) == (period.start, period.end)
        figures = pack_selectors.pack_figures(user=world.member_a, pack=pack)
        check_files(world, period, expect, pack_pdf(figures), pack_pptx(figures))
        transaction.set_rollback(True)


def test_the_customer_downloads_the_same_files_from_reviews(client, world):
    period = make_reviews(world, 60, 3)
    expect = build(
        world, period, [(5, False), (40, False)], [(6, 12_345, "GBP")],
        [(7, "delivery", True, (4, 5), True)], [("done", 10, 12, True)], {1: 60, 50: 72},
    )  # fmt: skip
    shared_pack(world, period)
    client.force_login(world.member_a)
    page = client.get(reverse("portal:reviews"))
    pdf_url = reverse("portal:review_pack_pdf", args=[period.review.pk])
    pptx_url = reverse("portal:review_pack_pptx", args=[period.review.pk])
    assert pdf_url in page.content.decode()
    assert pptx_url in page.content.decode()
    pdf, pptx = client.get(pdf_url), client.get(pptx_url)
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    check_files(world, period, expect, pdf.content, pptx.content)
    assert "A steady quarter." in pdf_text(pdf.content)


# --- Drafts, sharing, who may open it ------------------------------------------------------------


def test_a_draft_is_for_staff_only(client, world):
    period = make_reviews(world, 90, 1)
    services.review_pack_save(
        by=world.am_a, engagement=period.review, summary="Draft words", next_steps=""
    )
    urls = [
        reverse(name, args=[period.review.pk])
        for name in ("portal:review_pack_pdf", "portal:review_pack_pptx")
    ]
    for user in (world.member_a, world.customer_admin_a, world.member_b, world.am_b, world.agent):
        client.force_login(user)
        assert [client.get(url).status_code for url in urls] == [404, 404], user
        assert urls[0] not in client.get(reverse("portal:reviews")).content.decode()
    for user in (world.am_a, world.admin):
        client.force_login(user)
        response = client.get(urls[0])
        assert response.status_code == 200
        assert "DRAFT: not shared with the customer yet." in pdf_text(response.content)


def test_sharing_needs_a_summary_and_next_steps_and_is_audited(world):
    period = make_reviews(world, 90, 1)
    with pytest.raises(ValidationError) as refused:
        services.review_pack_save(
            by=world.am_a, engagement=period.review, summary="Words", next_steps=" ", share=True
        )
    assert "next_steps" in refused.value.message_dict
    assert not ReviewPack.objects.exists()  # nothing half-written
    pack = shared_pack(world, period)
    assert pack.shared_by == world.am_a
    assert pack.is_shared
    event = AuditEvent.objects.filter(target__startswith=f"review pack {pack.pk}").get()
    assert event.actor == world.am_a
    assert event.detail["newly_shared"] is True


def test_only_the_account_team_writes_a_pack(world):
    period = make_reviews(world, 90, 1)
    for outsider in (world.am_b, world.agent, world.member_a):
        with pytest.raises(PermissionDenied):
            services.review_pack_save(
                by=outsider, engagement=period.review, summary="x", next_steps="y", share=True
            )
    assert not ReviewPack.objects.exists()


def test_the_am_prepares_and_shares_the_pack_on_its_page(client, world):
    period = make_reviews(world, 90, 1)
    url = reverse("portal:review_pack", args=[period.review.pk])
    client.force_login(world.am_a)
    assert client.get(url).status_code == 200
    refused = client.post(url, {"summary": "Good", "next_steps": "", "action": "share"})
    assert refused.status_code == 400
    assert not ReviewPack.objects.exists()
    client.post(url, {"summary": "Good", "next_steps": "Call", "action": "save"})
    assert not ReviewPack.objects.get().is_shared
    client.post(url, {"summary": "Good", "next_steps": "Call", "action": "share"})
    assert ReviewPack.objects.get().is_shared
    client.force_login(world.member_a)
    pdf = client.get(reverse("portal:review_pack_pdf", args=[period.review.pk]))
    assert pdf.status_code == 200


# --- Bounded queries -----------------------------------------------------------------------------


PACK_QUERIES = 14


@pytest.mark.parametrize("fmt", ["pdf", "pptx"])
def test_a_pack_costs_the_same_queries_at_any_size(
    client, world, django_assert_max_num_queries, fmt
):
    period = make_reviews(world, 120, 1)
    shared_pack(world, period)
    client.force_login(world.member_a)
    url = reverse(f"portal:review_pack_{fmt}", args=[period.review.pk])
    with django_assert_max_num_queries(PACK_QUERIES):
        assert client.get(url).status_code == 200
    many = [(i % 120, i % 5 == 0) for i in range(60)]
    build(
        world, period, many, [(i, 1000 * i, "EUR") for i in range(40)],
        [(i * 3, Category.values[i % 5], i % 2 == 0, (3, 4), i % 4 == 0) for i in range(40)],
        [("open", i, i, i % 2 == 0) for i in range(15)], {i: 50 + i for i in range(0, 120, 5)},
    )  # fmt: skip
    with django_assert_max_num_queries(PACK_QUERIES):
        assert client.get(url).status_code == 200
