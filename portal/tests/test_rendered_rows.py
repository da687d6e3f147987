"""Rows the busiest pages render in Python (portal_tags, ticket_tags): what a customer or
a legacy system typed is escaped there as the template engine would escape it."""

import re
from datetime import UTC, datetime

from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.tests.test_page_cache import open_ticket

HOSTILE = '<img src=x onerror="alert(1)">'


def test_ticket_rows_escape_what_the_customer_typed(client, world):
    ticket = open_ticket(world, HOSTILE)
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:list")).content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert f'href="{reverse("tickets:detail", args=[ticket.pk])}"' in page


def test_account_rows_escape_the_organisations_name(client, world):
    world.org_a.name = HOSTILE
    world.org_a.save(update_fields=["name"])
    client.force_login(world.am_a)
    page = client.get(reverse("home")).content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert f'action="{reverse("accounts:view_as_start", args=[world.org_a.pk])}"' in page
    assert 'name="csrfmiddlewaretoken" value="' in page


def test_timeline_rows_escape_a_legacy_systems_text(client, world):
    from django.utils import timezone

    from portal.timeline.models import TimelineEvent

    TimelineEvent.objects.create(
        organisation=world.org_a, kind="improvement", at=timezone.now(), title=HOSTILE, body=HOSTILE
    )
    client.force_login(world.member_a)
    page = client.get(reverse("portal:timeline")).content.decode()
    assert HOSTILE not in page
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") == 2


def test_order_rows_escape_a_legacy_systems_text_and_read_as_the_template_did(client, world):
    from decimal import Decimal

    from django.template import Context, Template

    from portal.records import selectors
    from portal.records.models import Order, Shipment
    from portal.tests.records import add_orders

    first, second = add_orders(world.org_a, 2)
    Order.objects.filter(pk=first.pk).update(number=HOSTILE, status="IN_TRANSIT", total=None)
    Order.objects.filter(pk=second.pk).update(total=Decimal("12345.5"), currency="EUR")
    Shipment.objects.filter(order=second).update(status="out-for_delivery")
    client.force_login(world.member_a)
    page = client.get(reverse("portal:orders")).content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    # The rows as the template engine rendered them before they moved to Python.
    rows = selectors.order_rows(selectors.order_list(user=world.member_a, organisation=world.org_a))
    before = Template(
        "{% load ui %}{% for order in orders %}<tr>"
        "<td><a href=\"{% url 'portal:order' order.pk %}\">{{ order.number }}</a></td>"
        '<td><time datetime="{{ order.ordered_at|machine_time }}">'
        '{{ order.ordered_at|date:"j M Y" }}</time></td>'
        "<td>{{ order.status_shown|status_label }}</td><td>{{ order.line_count }}</td>"
        '<td>{% if order.total is not None %}{{ order.total|floatformat:"2g" }} '
        "{{ order.currency }}{% else %}—{% endif %}</td><td>{% if order.shipment_status %}"
        '<span class="pill pill-ship-{{ order.shipment_status|status_label|slugify }}">'
        "{{ order.shipment_status|status_label }}</span>{% else %}"
        '<span class="muted">Not shipped yet</span>{% endif %}</td></tr>{% endfor %}'
    ).render(Context({"orders": rows}))

    def tight(html: str) -> str:
        return re.sub(r">\s+<", "><", html)

    assert "12,345.50 EUR" in before
    assert tight(before) in tight(page)


def _timeline_items_as_before(events) -> str:
    """The touchpoints as format_html, machine_time and the date filter wrote them, before
    timeline_items looked the time zone and the month names up once per table."""
    from django.utils import dateformat, timezone
    from django.utils.html import format_html, format_html_join
    from django.utils.text import Truncator
    from django.utils.translation import gettext

    from accounts.templatetags.ui import machine_time, url_of
    from portal.templatetags.portal_tags import TIMELINE_EMPTY, TIMELINE_ITEM, TIMELINE_LINKS

    links = {kind: url_of(name) for kind, name in TIMELINE_LINKS.items()}

    def what(event: dict) -> str:
        kind, title, target = event["kind"], event["title"], event["target"]
        if kind in links:
            return format_html('<a href="{}">{}</a>', links[kind](target), title)
        if kind == "note":
            body = (
                format_html('<p class="muted">{}</p>', Truncator(target).words(40, truncate=" …"))
                if target
                else ""
            )
            return format_html("<strong>{}</strong>{}", title, body)
        return title

    items = format_html_join(
        "",
        TIMELINE_ITEM,
        (
            {
                "kind": event["kind"],
                "machine": machine_time(event["at"]),
                "what": what(event),
                "day": dateformat.format(timezone.localtime(event["at"]), "j M Y"),
            }
            for event in events
        ),
    )
    empty = format_html(
        TIMELINE_EMPTY,
        gettext(
            "Nothing here yet. Orders, deliveries, invoices, tickets and news from us appear"
            " here as they happen."
        ),
    )
    return format_html('<ol class="timeline" data-testid="timeline">\n{}</ol>', items or empty)


_EVENT_KINDS = ["order", "delivery", "invoice", "payment", "ticket", "legacy_ticket", "note"]


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {
                "kind": st.sampled_from(_EVENT_KINDS),
                "at": st.datetimes(
                    min_value=datetime(1990, 1, 1),
                    max_value=datetime(2090, 1, 1),
                    timezones=st.just(UTC),
                ),
                "title": st.text(max_size=30),
                "number": st.integers(1, 10**9),
                "text": st.one_of(st.none(), st.text(max_size=300)),
            }
        ),
        max_size=6,
    ),
    zone=st.sampled_from(
        ["UTC", "Europe/London", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]
    ),
    language=st.sampled_from(["en", "de"]),
)
def test_timeline_rows_read_as_before_in_every_zone_and_language(events, zone, language):
    from django.utils import timezone, translation

    from portal.templatetags.portal_tags import timeline_items

    rows = [
        {
            "kind": e["kind"],
            "at": e["at"],
            "title": e["title"],
            "target": e["text"] if e["kind"] in ("note", "legacy_ticket") else e["number"],
        }
        for e in events
    ]
    with timezone.override(zone), translation.override(language):
        assert timeline_items(rows) == _timeline_items_as_before(rows)


def test_rows_word_choices_in_each_readers_language():
    """The rows' labels are looked up once per process, but per language: a German reader
    after an English one still reads German."""
    from django.utils import translation

    from accounts.templatetags.ui import choice_label
    from tickets.models import Ticket

    ticket = Ticket(status="waiting", priority="high")
    for language in ("en", "de", "en", "de"):
        with translation.override(language):
            assert choice_label(Ticket, "status", "waiting") == ticket.get_status_display()
            assert choice_label(Ticket, "priority", "high") == ticket.get_priority_display()
    with translation.override("de"):
        assert choice_label(Ticket, "status", "waiting") != "Waiting on customer"
    assert choice_label(Ticket, "status", "unknown-word") == "unknown-word"


def _ticket_table_as_before(tickets, show_organisation, show_requester, select_form) -> str:
    """The ticket table's rows as format_html, machine_time and the date filter wrote them
    before the table looked its labels, time zone and month names up once per table."""
    from django.utils import dateformat, timezone
    from django.utils.html import format_html, format_html_join
    from django.utils.translation import gettext as _

    from accounts.templatetags.ui import choice_label, machine_time, sla_badge, url_of
    from tickets.models import Ticket
    from tickets.templatetags.ticket_tags import ROW, SELECT

    detail = url_of("tickets:detail")

    def row(ticket) -> dict:
        reference = {"reference": ticket.reference}
        select = format_html(SELECT, ticket.pk, select_form, _("Select %(reference)s") % reference)
        requester = ticket.requester.full_name if ticket.requester else "—"
        return {
            "select": select if select_form else "",
            "url": detail(ticket.pk),
            "reference": ticket.reference,
            "organisation": (
                format_html("<td>{}</td>", ticket.organisation.name) if show_organisation else ""
            ),
            "subject": ticket.subject,
            "requester": format_html("<td>{}</td>", requester) if show_requester else "",
            "priority": ticket.priority,
            "priority_label": choice_label(Ticket, "priority", ticket.priority),
            "status": choice_label(Ticket, "status", ticket.status),
            "sla": sla_badge(ticket.sla_state),
            "machine": machine_time(ticket.created_at),
            "opened": dateformat.format(timezone.localtime(ticket.created_at), "j M Y H:i T"),
        }

    return format_html_join("", ROW, (row(ticket) for ticket in tickets))


@settings(max_examples=150, deadline=None)
@given(
    tickets=st.lists(
        st.fixed_dictionaries(
            {
                "pk": st.integers(1, 10**9),
                "subject": st.text(max_size=40),
                "organisation": st.text(max_size=30),
                "requester": st.one_of(st.none(), st.text(max_size=30)),
                "priority": st.sampled_from(["low", "normal", "high", "urgent", "<b>"]),
                "status": st.sampled_from(["new", "open", "waiting", "resolved", "closed"]),
                "sla_state": st.sampled_from(
                    [None, "on_track", "at_risk", "breached", "paused", "met", "not_judged"]
                ),
                "created_at": st.datetimes(
                    min_value=datetime(1990, 1, 1),
                    max_value=datetime(2090, 1, 1),
                    timezones=st.just(UTC),
                ),
            }
        ),
        min_size=1,
        max_size=5,
    ),
    show_organisation=st.booleans(),
    name_as_column=st.booleans(),
    show_requester=st.booleans(),
    select_form=st.sampled_from(["", "bulk", 'a"b<']),
    zone=st.sampled_from(
        ["UTC", "Europe/London", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]
    ),
    language=st.sampled_from(["en", "de"]),
)
def test_ticket_rows_read_as_before_in_every_zone_and_language(
    tickets, show_organisation, name_as_column, show_requester, select_form, zone, language
):
    from django.utils import timezone, translation

    from accounts.models import Organisation, User
    from tickets.models import Ticket
    from tickets.templatetags.ticket_tags import ticket_table

    rows = []
    for made in tickets:
        ticket = Ticket(
            pk=made["pk"],
            subject=made["subject"],
            priority=made["priority"],
            status=made["status"],
            created_at=made["created_at"],
            organisation=Organisation(name=made["organisation"]),
        )
        ticket.requester = None if made["requester"] is None else User(full_name=made["requester"])
        ticket.sla_state = made["sla_state"]
        if name_as_column:  # the work queue's tables read the name as a column
            ticket.organisation_name = made["organisation"]
        rows.append(ticket)
    with timezone.override(zone), translation.override(language):
        table = ticket_table(rows, show_organisation, show_requester, select_form)
        before = _ticket_table_as_before(rows, show_organisation, show_requester, select_form)
    assert before in table


def _account_rows_as_before(organisations, roles, csrf) -> str:
    """My accounts' rows as format_html, health_pill and the date filter wrote them, before
    account_rows looked its labels and month names up once per table."""
    from django.utils import dateformat
    from django.utils.html import format_html, format_html_join
    from django.utils.text import capfirst
    from django.utils.translation import gettext

    from accounts.models import Organisation
    from accounts.templatetags.ui import choice_label, url_of
    from portal.templatetags.portal_tags import ACCOUNT_ROW, MUTED, health_pill, since

    account, view_as = url_of("portal:account"), url_of("accounts:view_as_start")
    never, none = format_html(MUTED, gettext("never")), format_html(MUTED, gettext("none"))

    def row(org) -> dict:
        reasons = getattr(org, "health_reasons", "")
        risk = gettext("%(count)s at risk or breached") % {"count": org.tickets_at_risk}
        account_label = gettext("The account of %(name)s: health, reviews, commitments")
        return {
            "account": gettext("Account"),
            "view_as": gettext("View as customer"),
            "name": org.name,
            "account_label": account_label % {"name": org.name},
            "of_name": gettext("of %(name)s") % {"name": org.name},
            "number": org.customer_number,
            "health": health_pill(org.health),
            "reasons": format_html(
                '<br><span class="muted" data-testid="health-reasons">{}</span>', capfirst(reasons)
            ) if reasons else "",
            "stage": org.lifecycle_stage,
            "stage_label": choice_label(Organisation, "lifecycle_stage", org.lifecycle_stage),
            "renewal": dateformat.format(org.renewal_date, "j M Y") if org.renewal_date else "—",
            "open_tickets": org.open_tickets,
            "risk": format_html('<span class="pill sla-at_risk">{}</span>', risk)
            if org.tickets_at_risk else none,
            "contact": since(org.last_contact) if org.last_contact else never,
            "tier": org.tier_name or "—",
            "roles": ", ".join(str(label) for label in roles.get(org.pk, [])) or "—",
            "account_url": account(org.pk),
            "view_as_url": view_as(org.pk),
            "csrf": csrf,
        }  # fmt: skip

    return format_html_join("", ACCOUNT_ROW, (row(org) for org in organisations))


_TEXT = st.text(max_size=30)
_DAYS = st.dates(min_value=datetime(1990, 1, 1).date(), max_value=datetime(2090, 1, 1).date())


@settings(max_examples=150, deadline=None)
@given(
    accounts=st.lists(
        st.fixed_dictionaries(
            {
                "name": _TEXT,
                "number": _TEXT,
                "stage": st.sampled_from(["onboarding", "active", "renewal", "churned", "<x>"]),
                "renewal": st.one_of(st.none(), _DAYS),
                "open": st.integers(0, 10**6),
                "risk": st.integers(0, 3),
                "contact_days": st.one_of(st.none(), st.integers(0, 4000)),
                "tier": st.one_of(st.none(), _TEXT),
                "roles": st.sets(
                    st.sampled_from(["primary_am", "backup_am", "cover_am", "executive_sponsor"])
                ),
                "health": st.one_of(
                    st.none(),
                    st.tuples(
                        st.integers(0, 100), st.sampled_from(["green", "amber", "red"]), _DAYS
                    ),
                ),
                "reasons": _TEXT,
            }
        ),
        min_size=1,
        max_size=4,
    ),
    csrf=st.sampled_from(["", "token", '"<&']),
    language=st.sampled_from(["en", "de"]),
)
def test_account_rows_read_as_before_in_every_language(accounts, csrf, language):
    from datetime import timedelta

    from django.utils import timezone, translation

    from accounts.choices import TeamRole
    from accounts.models import Organisation
    from accounts.selectors import TEAM_ROLE_BITS
    from portal.relationship.models import HealthScore
    from portal.templatetags.portal_tags import account_rows

    now = timezone.now()
    organisations, roles = [], {}
    for pk, made in enumerate(accounts, start=1):
        org = Organisation(
            pk=pk, name=made["name"], customer_number=made["number"],
            lifecycle_stage=made["stage"], renewal_date=made["renewal"],
        )  # fmt: skip
        org.open_tickets, org.tickets_at_risk, org.tier_name = (
            made["open"],
            made["risk"],
            made["tier"],
        )
        days = made["contact_days"]
        org.last_contact = None if days is None else now - timedelta(days=days, hours=1)
        org.health = made["health"] and HealthScore(
            score=made["health"][0], colour=made["health"][1], computed_on=made["health"][2]
        )
        org.health_reasons = made["reasons"]
        # As team_roles_of listed them: ordered by the role's value.
        roles[pk] = [TeamRole(role).label for role in sorted(made["roles"])]
        org.team_roles = sum(TEAM_ROLE_BITS[role] for role in made["roles"])
        organisations.append(org)
    with translation.override(language):
        rows = account_rows({"csrf_token": csrf}, organisations)
        assert rows == _account_rows_as_before(organisations, roles, csrf)


# The Invoices and Deliveries rows as the template engine wrote them before they moved to
# Python (portal_tags.invoice_rows, shipment_rows).
INVOICE_ROWS_BEFORE = (
    "{% load ui i18n %}{% for invoice in page %}<tr>"
    "<td><a href=\"{% url 'portal:invoice' invoice.pk %}\">{{ invoice.number }}</a></td>"
    '<td>{{ invoice.issued_on|date:"j M Y" }}</td><td>{{ invoice.due_on|date:"j M Y"|default:"—" }}'
    '</td><td class="num">{{ invoice.amount|floatformat:"2g" }} {{ invoice.currency }}</td>'
    '<td>{% include "portal/invoice_state.html" %}</td>'
    "<td>{% if invoice.order_id %}<a href=\"{% url 'portal:order' invoice.order_id %}\">"
    "{{ invoice.order_number }}</a>{% else %}—{% endif %}</td></tr>{% endfor %}"
)
SHIPMENT_ROWS_BEFORE = (
    "{% load ui i18n %}{% for shipment in page %}<tr>"
    "<td>{% if shipment.order_id %}<a href=\"{% url 'portal:order' shipment.order_id %}\">"
    '{{ shipment.order_number }}</a>{% else %}<span class="muted">'
    "{{ shipment.order_id_external }}</span>{% endif %}</td>"
    "<td>{{ shipment.carrier }}</td><td>{% if shipment.tracking_url %}"
    '<a href="{{ shipment.tracking_url }}" rel="noopener noreferrer" target="_blank">'
    '<code>{{ shipment.tracking_number }}</code><span class="visually-hidden"> '
    "{% blocktranslate trimmed with carrier=shipment.carrier %}(tracking at {{ carrier }}, opens"
    " a new tab){% endblocktranslate %}</span></a>{% elif shipment.tracking_number %}"
    "<code>{{ shipment.tracking_number }}</code>{% else %}—{% endif %}</td>"
    '<td><span class="pill pill-ship-{{ shipment.status|status_label|slugify }}">'
    "{{ shipment.status|status_label }}</span></td>"
    '<td>{{ shipment.shipped_at|date:"j M Y"|default:"—" }}</td>'
    '<td>{{ shipment.delivered_at|date:"j M Y"|default:"—" }}</td>'
    "<td><a href=\"{% url 'tickets:create' %}?about=shipment:{{ shipment.pk }}\">"
    '{% translate "Ask about this delivery" %}<span class="visually-hidden"> '
    "{{ shipment.tracking_number|default:shipment.external_id }}</span></a></td>"
    "</tr>{% endfor %}"
)
ZONES = ["UTC", "Europe/London", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]
_texts = st.text(max_size=20)
_days = st.dates(min_value=datetime(1990, 1, 1).date(), max_value=datetime(2090, 1, 1).date())
_moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


def _tight(html: str) -> str:
    return re.sub(r">\s+<", "><", html).strip()


def _as_before(source: str, rows) -> str:
    from django.template import Context, Template

    return Template(source).render(Context({"page": rows}))


@settings(max_examples=150, deadline=None)
@given(
    invoices=st.lists(
        st.fixed_dictionaries(
            {
                "number": _texts,
                "amount": st.decimals(-(10**9), 10**9, places=2, allow_nan=False),
                "currency": _texts,
                "issued_on": _days,
                "due_on": st.one_of(st.none(), _days),
                "paid_on": st.one_of(st.none(), _days),
                "status": st.sampled_from(["", "cancelled", "paid", "open"]),
                "state": st.sampled_from(["open", "overdue", "paid", "cancelled", "<b>"]),
                "order_id": st.one_of(st.none(), st.integers(1, 10**9)),
                "order_number": _texts,
            }
        ),
        max_size=5,
    ),
    zone=st.sampled_from(ZONES),
    language=st.sampled_from(["en", "de"]),
)
def test_invoice_rows_read_as_before_in_every_zone_and_language(invoices, zone, language):
    from django.utils import timezone, translation

    from portal.records.models import Invoice
    from portal.templatetags.portal_tags import invoice_rows

    rows = []
    for pk, values in enumerate(invoices, start=1):
        state, order_number = values.pop("state"), values.pop("order_number")
        invoice = Invoice(pk=pk, **values)
        invoice.state, invoice.order_number = state, order_number
        rows.append(invoice)
    with timezone.override(zone), translation.override(language):
        assert _tight(invoice_rows(rows)) == _tight(_as_before(INVOICE_ROWS_BEFORE, rows))


@settings(max_examples=150, deadline=None)
@given(
    shipments=st.lists(
        st.fixed_dictionaries(
            {
                "order_id": st.one_of(st.none(), st.integers(1, 10**9)),
                "order_number": _texts,
                "order_id_external": _texts,
                "external_id": _texts,
                "carrier": _texts,
                "tracking_number": _texts,
                "tracking_template": st.sampled_from(
                    [None, "", "https://track.example/?n={tracking}&a=1", "<x>{tracking}"]
                ),
                "status": st.one_of(
                    st.sampled_from(["delivered", "IN_TRANSIT", "out-for_delivery", ""]), _texts
                ),
                "shipped_at": st.one_of(st.none(), _moments),
                "delivered_at": st.one_of(st.none(), _moments),
            }
        ),
        max_size=5,
    ),
    zone=st.sampled_from(ZONES),
    language=st.sampled_from(["en", "de"]),
)
def test_shipment_rows_read_as_before_in_every_zone_and_language(shipments, zone, language):
    from django.utils import timezone, translation

    from portal.records.models import Shipment
    from portal.templatetags.portal_tags import shipment_rows

    rows = []
    for pk, values in enumerate(shipments, start=1):
        extra = {name: values.pop(name) for name in ("order_number", "tracking_template")}
        shipment = Shipment(pk=pk, **values)
        for name, value in extra.items():
            setattr(shipment, name, value)
        rows.append(shipment)
    with timezone.override(zone), translation.override(language):
        assert _tight(shipment_rows(rows)) == _tight(_as_before(SHIPMENT_ROWS_BEFORE, rows))
