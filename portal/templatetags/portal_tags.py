import functools

from django import template
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.text import Truncator, capfirst, slugify
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext

from accounts.models import Organisation
from accounts.selectors import team_role_labels
from accounts.templatetags.ui import (
    Numbers,
    choice_label,
    escaped,
    month_abbreviations,
    sla_badge,
    status_label,
    url_of,
)
from tickets.models import Ticket

register = template.Library()


@register.filter
def minutes(value):
    """480 -> "8 h", 90 -> "1 h 30 min", 2880 -> "48 h"."""
    if value in (None, ""):
        return "—"
    hours, rest = divmod(int(value), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


SOURCE_LABEL = '<span class="source-label" title="{title}">{name}{synced}</span>'


@register.simple_tag
def source_label(record, sources) -> str:
    """ "From Billing: invoices · synced 5 minutes ago" for a synced record. Written here,
    not by an included template: on the customer home that include and the one inside it
    cost as much CPU as a list of five rows."""
    source = sources.get(record.source_id) if sources else None
    if source is None:
        return ""
    synced = ""
    if source.last_success_at:
        synced = f" {escaped(gettext('· synced'))} {escaped(ago(source.last_success_at))}"
    return mark_safe(  # noqa: S308 - every value escaped here
        SOURCE_LABEL.format(
            title=escaped(gettext("Synced from a departmental system")),
            name=gettext("From %(name)s") % {"name": escaped(source.name)},
            synced=synced,
        )
    )


@register.filter
def multiply(value, other):
    """Line amount: quantity × unit price."""
    try:
        return value * other
    except TypeError:
        return None


@register.filter
def ago(moment) -> str:
    """ "just now" under a minute, else "5 minutes ago"."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return gettext("just now")
    return since(moment)


def since(moment) -> str:
    """ "5 minutes ago", in the reader's language."""
    return gettext("%(time)s ago") % {"time": timesince(moment)}


# --- Rows rendered in Python -----------------------------------------------------------------
# My accounts shows 50 rows of ten cells, two links, a form and a health pill each: as a
# template loop that cost more CPU than the rest of the page (docs/benchmarks.md). The same
# markup here, escaped by format_html.

MUTED = '<span class="muted">{}</span>'
HEALTH_PILL_CLASS = {"green": "sla-on_track", "amber": "sla-at_risk"}
HEALTH_PILL = '<span class="pill sla {}" data-testid="health-score" title="{}, {}">{} · {}</span>'
HEALTH_REASONS = '<br><span class="muted" data-testid="health-reasons">{}</span>'
RISK_PILL = '<span class="pill sla-at_risk">{}</span>'


@register.filter
def health_pill(health) -> str:
    """An account's health score as a pill: "72 · Amber", or "not scored yet"."""
    if not health:
        return format_html(MUTED, gettext("not scored yet"))
    colour = choice_label(type(health), "colour", health.colour)
    return format_html(
        HEALTH_PILL,
        HEALTH_PILL_CLASS.get(health.colour, "sla-breached"),
        colour,
        dateformat.format(health.computed_on, "j M Y"),
        health.score,
        colour,
    )


ACCOUNT_ROW = """      <tr>
        <td><strong>{name}</strong><br><span class="muted">{number}</span></td>
        <td class="col-health">{health}{reasons}</td>
        <td><span class="pill pill-stage-{stage}">{stage_label}</span></td>
        <td>{renewal}</td>
        <td>{open_tickets}</td>
        <td>{risk}</td>
        <td>{contact}</td>
        <td>{tier}</td>
        <td>{roles}</td>
        <td class="actions">
          <a class="button button-small" href="{account_url}" aria-label="{account_label}">{account}</a>
          <form method="post" action="{view_as_url}"><input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">
            <button class="button button-small" type="submit">{view_as}<span class="visually-hidden"> {of_name}</span></button>
          </form>
        </td>
      </tr>
"""  # noqa: E501 - the markup as the browser gets it


@register.simple_tag(takes_context=True)
def account_rows(context, organisations) -> str:
    """`{% account_rows page roles %}`: My accounts' rows (without the empty row). What is
    the same on every row (links, words, labels, month names) is looked up once a table and
    each value escaped as format_html would (portal/tests/test_rendered_rows.py holds it to
    the markup format_html wrote): 50 rows through format_html cost more than the rest of
    the page's data."""
    account, view_as = url_of("portal:account"), url_of("accounts:view_as_start")
    months = month_abbreviations()
    csrf = escaped(context.get("csrf_token", ""))
    never, none = format_html(MUTED, gettext("never")), format_html(MUTED, gettext("none"))
    unscored = format_html(MUTED, gettext("not scored yet"))
    words = {
        "account": escaped(gettext("Account")),
        "view_as": escaped(gettext("View as customer")),
    }
    account_label = gettext("The account of %(name)s: health, reviews, commitments")
    of_name, at_risk = gettext("of %(name)s"), gettext("%(count)s at risk or breached")
    stage_label = functools.cache(
        lambda stage: escaped(choice_label(Organisation, "lifecycle_stage", stage))
    )
    # Each set of roles' labels translated once a table, not once a row.
    role_list = functools.cache(
        lambda bits: escaped(", ".join(map(str, team_role_labels(bits))) or "—")
    )
    colour = functools.cache(lambda model, value: escaped(choice_label(model, "colour", value)))

    def day(value) -> str:  # the date filter's "j M Y"
        return f"{value.day} {months[value.month]} {value.year:04d}"

    def pill(health) -> str:  # health_pill
        if not health:
            return unscored
        named = colour(type(health), health.colour)
        return HEALTH_PILL.format(
            HEALTH_PILL_CLASS.get(health.colour, "sla-breached"),
            named,
            day(health.computed_on),
            escaped(health.score),
            named,
        )

    def row(org) -> str:
        name, reasons = escaped(org.name), getattr(org, "health_reasons", "")
        return ACCOUNT_ROW.format(
            **words,
            name=name,
            account_label=escaped(account_label % {"name": org.name}),
            of_name=escaped(of_name % {"name": org.name}),
            number=escaped(org.customer_number),
            health=pill(org.health),
            reasons=HEALTH_REASONS.format(escaped(capfirst(reasons))) if reasons else "",
            stage=escaped(org.lifecycle_stage),
            stage_label=stage_label(org.lifecycle_stage),
            renewal=day(org.renewal_date) if org.renewal_date else "—",
            open_tickets=escaped(org.open_tickets),
            risk=RISK_PILL.format(escaped(at_risk % {"count": org.tickets_at_risk}))
            if org.tickets_at_risk
            else none,
            contact=escaped(since(org.last_contact)) if org.last_contact else never,
            tier=escaped(org.tier_name or "—"),
            roles=role_list(org.team_roles),
            account_url=escaped(account(org.pk)),
            view_as_url=escaped(view_as(org.pk)),
            csrf=csrf,
        )  # fmt: skip

    return mark_safe("".join(row(org) for org in organisations))  # noqa: S308 - escaped above


TIMELINE_LINKS = {
    "order": "portal:order",
    "delivery": "portal:order",
    "invoice": "portal:invoice",
    "payment": "portal:invoice",
    "ticket": "tickets:detail",
}
TIMELINE_ITEM = """  <li class="timeline-item timeline-{kind}">
    <time datetime="{machine}">{day}</time>
    <div>
      {what}
    </div>
  </li>
"""
TIMELINE_EMPTY = '  <li class="empty">{}</li>\n'


@register.simple_tag
def timeline_items(events) -> str:
    """`{% timeline_items timeline %}`: the touchpoints of the timeline and of the home page
    (up to 100 rows; rendered here for the same reason as `account_rows`). The time zone,
    the month names and the links are looked up once per table, and each value escaped
    as format_html would: the page's 100 rows cost more than the rest of it."""
    links = {kind: url_of(name) for kind, name in TIMELINE_LINKS.items()}
    zone, months = timezone.get_current_timezone(), month_abbreviations()

    def what(kind: str, title: str, target) -> str:
        if kind in links:
            return f'<a href="{escaped(links[kind](target))}">{escaped(title)}</a>'
        if kind == "note":
            body = (
                f'<p class="muted">{escaped(Truncator(target).words(40, truncate=" …"))}</p>'
                if target
                else ""
            )
            return f"<strong>{escaped(title)}</strong>{body}"
        return escaped(title)

    def item(event: dict) -> str:
        machine, day = when(event["at"], zone, months)
        return TIMELINE_ITEM.format(
            kind=escaped(event["kind"]),
            machine=machine,
            day=day,
            what=what(event["kind"], event["title"], event["target"]),
        )

    items = "".join(item(event) for event in events)
    return format_html(
        '<ol class="timeline" data-testid="timeline">\n{}</ol>',
        mark_safe(items)  # noqa: S308 - every value in it escaped above
        or format_html(
            TIMELINE_EMPTY,
            gettext(
                "Nothing here yet. Orders, deliveries, invoices, tickets and news from us appear"
                " here as they happen."
            ),
        ),
    )


def when(moment, zone, months: dict[int, str]) -> tuple[str, str]:
    """A moment as machine_time and as the date filter's "j M Y" write it in `zone`,
    escaped: for rows, with the zone and the month names looked up once per table."""
    local = moment.astimezone(zone)  # timezone.localtime
    day = f"{local.day} {months[local.month]} {local.year:04d}"
    return escaped(local.replace(microsecond=0).isoformat()), escaped(day)


ORDER_ROW = """    <tr>
      <td><a href="{url}">{number}</a></td>
      <td><time datetime="{machine}">{day}</time></td>
      <td>{status}</td>
      <td>{lines}</td>
      <td>{total}</td>
      <td>{delivery}</td>
    </tr>
"""


@register.simple_tag
def order_rows(orders) -> str:
    """`{% order_rows page %}`: the Orders table's rows (without the empty row), rendered
    here for the same reason as `account_rows`: 25 rows through the template engine cost
    more CPU than the rest of the page's data."""
    detail = url_of("portal:order")
    not_shipped = format_html(MUTED, gettext("Not shipped yet"))  # once, not per row
    zone, months = timezone.get_current_timezone(), month_abbreviations()
    label = functools.cache(status_label)  # a few statuses, each read once per table

    def delivery(status: str) -> str:
        shipment = label(status)
        return f'<span class="pill pill-ship-{escape(slugify(shipment))}">{escape(shipment)}</span>'

    def row(order) -> str:
        machine, day = when(order.ordered_at, zone, months)
        return ORDER_ROW.format(
            url=escape(detail(order.pk)),
            number=escape(order.number),
            machine=machine,
            day=day,
            status=escape(label(order.status_shown)),
            lines=escape(order.line_count),
            total="—" if order.total is None
            else escape(f"{floatformat(order.total, '2g')} {order.currency}"),
            delivery=delivery(order.shipment_status) if order.shipment_status else not_shipped,
        )  # fmt: skip

    return mark_safe("".join(row(order) for order in orders))  # noqa: S308 - escaped above


def day_of(value, months: dict[int, str]) -> str:
    """A day as the date filter's "j M Y" writes it, with the month names looked up once
    per table."""
    return f"{value.day} {months[value.month]} {value.year:04d}"


INVOICE_ROW = """      <tr>
        <td><a href="{url}">{number}</a></td>
        <td>{issued}</td><td>{due}</td>
        <td class="num">{amount}</td>
        <td><span class="pill pill-invoice-{state}" data-testid="invoice-state">{state_label}</span></td>
        <td>{order}</td>
      </tr>
"""  # noqa: E501 - the markup as the browser gets it


@register.simple_tag
def invoice_rows(invoices) -> str:
    """`{% invoice_rows page %}`: the Invoices table's rows (without the empty row), rendered
    here for the same reason as `order_rows`; the state pill as portal/invoice_state.html
    writes it."""
    detail, order = url_of("portal:invoice"), url_of("portal:order")
    months = month_abbreviations()

    def overdue(days: int) -> str:
        text = ngettext("· %(days_overdue)s day", "· %(days_overdue)s days", days)
        return " " + text % {"days_overdue": days}

    def row(invoice) -> str:
        state = invoice.state
        return INVOICE_ROW.format(
            url=escape(detail(invoice.pk)),
            number=escape(invoice.number),
            issued=day_of(invoice.issued_on, months),
            due=day_of(invoice.due_on, months) if invoice.due_on else "—",
            amount=escape(f"{floatformat(invoice.amount, '2g')} {invoice.currency}"),
            state=escape(state),
            state_label=escape(capfirst(state))
            + (overdue(invoice.days_overdue) if state == "overdue" else ""),
            order=f'<a href="{escape(order(invoice.order_id))}">{escape(invoice.order_number)}</a>'
            if invoice.order_id else "—",
        )  # fmt: skip

    return mark_safe("".join(row(invoice) for invoice in invoices))  # noqa: S308 - escaped above


SHIPMENT_ROW = """      <tr>
        <td>{order}</td>
        <td>{carrier}</td><td>{tracking}</td>
        <td><span class="pill pill-ship-{status_class}">{status}</span></td>
        <td>{shipped}</td><td>{delivered}</td>
        <td><a href="{ask_url}">{ask}<span class="visually-hidden"> {ask_about}</span></a></td>
      </tr>
"""


@register.simple_tag
def shipment_rows(shipments) -> str:
    """`{% shipment_rows page %}`: the Deliveries table's rows (without the empty row),
    rendered here for the same reason as `order_rows`."""
    order, ask_url = url_of("portal:order"), reverse("tickets:create")
    ask, tracking_at = (
        escape(gettext("Ask about this delivery")),
        gettext("(tracking at %(carrier)s, opens a new tab)"),
    )
    zone, months = timezone.get_current_timezone(), month_abbreviations()
    label = functools.cache(status_label)  # a few statuses, each read once per table

    def tracking(shipment) -> str:
        number = escape(shipment.tracking_number)
        if shipment.tracking_url:
            hidden = tracking_at % {"carrier": escape(shipment.carrier)}
            return (
                f'<a href="{escape(shipment.tracking_url)}" rel="noopener noreferrer"'
                f' target="_blank"><code>{number}</code>'
                f'<span class="visually-hidden"> {hidden}</span></a>'
            )
        return f"<code>{number}</code>" if shipment.tracking_number else "—"

    def of_order(shipment) -> str:
        if shipment.order_id:
            number = escape(shipment.order_number)
            return f'<a href="{escape(order(shipment.order_id))}">{number}</a>'
        return format_html(MUTED, shipment.order_id_external)

    def row(shipment) -> str:
        status = label(shipment.status)
        return SHIPMENT_ROW.format(
            order=of_order(shipment),
            carrier=escape(shipment.carrier),
            tracking=tracking(shipment),
            status_class=escape(slugify(status)),
            status=escape(status),
            shipped=when(shipment.shipped_at, zone, months)[1] if shipment.shipped_at else "—",
            delivered=when(shipment.delivered_at, zone, months)[1]
            if shipment.delivered_at else "—",
            ask_url=escape(f"{ask_url}?about=shipment:{shipment.pk}"),
            ask=ask,
            ask_about=escape(shipment.tracking_number or shipment.external_id),
        )  # fmt: skip

    return mark_safe("".join(row(shipment) for shipment in shipments))  # noqa: S308 - escaped above


# --- The customer home's lists ---------------------------------------------------------------
# Four lists of up to five items and the amounts to pay: through the template engine their
# loops cost as much CPU as the home's data (docs/benchmarks.md, issue 26). Each tag writes
# what its `{% for %}` loop wrote, item for item (portal/tests/test_rendered_rows.py holds it
# to that markup); the empty item stays in the template.

HOME_TICKET = """
      <li><a href="{url}">{subject}</a><br>{sla} <span class="muted">{reference} · {status}</span></li>
    """  # noqa: E501 - the markup as the browser gets it


@register.simple_tag
def home_ticket_items(tickets) -> str:
    """`{% home_ticket_items open_tickets %}`: the home's open tickets."""
    detail = url_of("tickets:detail")
    badge = functools.cache(lambda state: str(sla_badge(state)))
    status = functools.cache(lambda value: escaped(choice_label(Ticket, "status", value)))
    return mark_safe(  # noqa: S308 - every value escaped here
        "".join(
            HOME_TICKET.format(
                url=escaped(detail(ticket.pk)),
                subject=escaped(ticket.subject),
                sla=badge(ticket.sla_state),
                reference=escaped(ticket.reference),
                status=status(ticket.status),
            )
            for ticket in tickets
        )
    )


HOME_ORDER = """
      <li><a href="{url}">{number}</a> <span class="muted">{day}</span>
        {delivery}</li>
    """


@register.simple_tag
def home_order_items(orders) -> str:
    """`{% home_order_items recent_orders %}`: the home's recent orders."""
    detail = url_of("portal:order")
    not_shipped = f'<span class="pill">{escaped(gettext("Not shipped yet"))}</span>'
    zone, months = timezone.get_current_timezone(), month_abbreviations()

    @functools.cache  # a few statuses, each read once per list
    def delivery(status: str) -> str:
        if not status:
            return not_shipped
        shown = status_label(status)
        return f'<span class="pill pill-ship-{escaped(slugify(shown))}">{escaped(shown)}</span>'

    return mark_safe(  # noqa: S308 - every value escaped here
        "".join(
            HOME_ORDER.format(
                url=escaped(detail(order.pk)),
                number=escaped(order.number),
                day=when(order.ordered_at, zone, months)[1],
                delivery=delivery(order.shipment_status),
            )
            for order in orders
        )
    )


HOME_INVOICE = """
      <li><a href="{url}">{number}</a> · {amount} {currency}
        <span class="pill pill-invoice-{state}">{due}</span></li>
    """


@register.simple_tag
def home_invoice_items(invoices) -> str:
    """`{% home_invoice_items invoices_due %}`: the home's invoices to pay."""
    detail, months, numbers = url_of("portal:invoice"), month_abbreviations(), Numbers()
    overdue_since, due = gettext("Overdue since %(due_on)s"), gettext("Due %(due_on)s")

    def due_text(invoice) -> str:
        day = escaped(day_of(invoice.due_on, months)) if invoice.due_on else ""
        if invoice.state == "overdue":
            return overdue_since % {"due_on": day}
        return due % {"due_on": day or "—"}

    return mark_safe(  # noqa: S308 - every value escaped here
        "".join(
            HOME_INVOICE.format(
                url=escaped(detail(invoice.pk)),
                number=escaped(invoice.number),
                # safe: digits and separators (nothing for no amount, as floatformat)
                amount="" if invoice.amount is None else numbers.fixed(invoice.amount, 2),
                currency=escaped(invoice.currency),
                state=escaped(invoice.state),
                due=due_text(invoice),
            )
            for invoice in invoices
        )
    )


HOME_TO_PAY = (
    '<p class="stat{red}" data-testid="home-to-pay"><span class="stat-number">{open} {currency}'
    "</span> {to_pay}{overdue}</p>"
)


@register.simple_tag
def home_to_pay(totals) -> str:
    """`{% home_to_pay to_pay %}`: what is open and overdue, per currency."""
    to_pay, overdue = escaped(gettext("to pay")), gettext(", %(overdue)s %(currency)s overdue")
    numbers = Numbers()
    return mark_safe(  # noqa: S308 - every value escaped here
        "".join(
            HOME_TO_PAY.format(
                red=" stat-red" if total["overdue"] else "",
                open=numbers.fixed(total["open"], 2),  # safe: digits and separators
                currency=escaped(total["currency"]),
                to_pay=to_pay,
                overdue=overdue
                % {
                    "overdue": numbers.fixed(total["overdue"], 2),
                    "currency": escaped(total["currency"]),
                }
                if total["overdue"]
                else "",
            )
            for total in totals
        )
    )
