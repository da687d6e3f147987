"""The ticket table many pages show (work queue, ticket lists, the agents' queue).

Rendered here rather than as a template loop: 50 rows cost Django's template engine about
15 ms of CPU (a variable lookup chain per cell, two URL reversals and an include per row),
and the work queue shows three such tables. The same markup, each value escaped as
`format_html` would (portal/tests/test_rendered_rows.py holds the two to the same output).
"""

import functools

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.templatetags.ui import choice_label, escaped, month_abbreviations, sla_badge, url_of
from tickets.models import Ticket

register = template.Library()

# Headers are looked up at render time: they are in the reader's language.
HEADER = (
    '<table class="table" data-testid="ticket-table">\n  <thead><tr><th scope="col">{}</th>'
    '{}<th scope="col">{}</th>{}<th scope="col">{}</th><th scope="col">{}</th>'
    '<th scope="col">{}</th><th scope="col">{}</th></tr></thead>\n  <tbody>\n'
)
COLUMN = '<th scope="col">{}</th>'
FOOTER = mark_safe("  </tbody>\n</table>")
ROW = (
    '    <tr>\n      <td>{select}<a href="{url}">{reference}</a></td>\n      {organisation}\n'
    '      <td><a href="{url}">{subject}</a></td>{requester}\n'
    '      <td><span class="priority priority-{priority}">{priority_label}</span></td>\n'
    "      <td>{status}</td>\n      <td>{sla}</td>\n"
    '      <td><time datetime="{machine}">{opened}</time></td>\n    </tr>\n'
)


# A tick box in the reference's cell (the column kept in view on a phone), for the form
# of that id elsewhere on the page (the queue's bulk actions).
SELECT = '<input type="checkbox" name="ticket" value="{}" form="{}" aria-label="{}"> '


@register.simple_tag
def ticket_table(
    tickets, show_organisation: bool = False, show_requester: bool = False, select_form: str = ""
) -> SafeString:
    """`{% ticket_table page show_organisation=True %}`: a table of tickets (the organisation
    and the person who opened each selected with them when shown), or a line saying there
    are none. `select_form`: each row gets a tick box for the form of that id."""
    row = _row_writer(show_organisation, show_requester, select_form)
    rows = mark_safe("".join(row(t) for t in tickets))  # noqa: S308 - escaped by _row_writer
    if not rows:
        create = (
            ""
            if show_organisation
            else format_html(
                ' <a href="{}">{}</a> {}',
                reverse("tickets:create"),
                _("Open one"),
                _("when you need us."),
            )
        )
        rows = format_html(
            '    <tr><td colspan="8" class="empty">{}{}</td></tr>\n', _("No tickets here."), create
        )
    header = format_html(
        HEADER,
        _("Ticket"),
        format_html(COLUMN, _("Organisation")) if show_organisation else "",
        _("Subject"),
        format_html(COLUMN, _("Opened by")) if show_requester else "",
        _("Priority"),
        _("Status"),
        _("SLA"),
        _("Opened"),
    )
    return header + rows + FOOTER


def _organisation_name(ticket) -> str:
    # Tables that read the name as a column (organisation_name) skip building an
    # Organisation per row.
    if hasattr(ticket, "organisation_name"):
        return ticket.organisation_name
    return ticket.organisation.name


def _row_writer(show_organisation: bool, show_requester: bool, select_form: str):
    """A function ticket -> its row, escaped as format_html would. What is the same on every
    row (the link's route, the time zone, month names, labels, SLA pills, the words) is
    looked up once per table: per row, format_html, the date filter and the translations
    cost more than the rest of a 50-row table (the work queue shows three)."""
    detail, zone, months = (
        url_of("tickets:detail"),
        timezone.get_current_timezone(),
        month_abbreviations(),
    )
    priority = functools.cache(lambda value: escaped(choice_label(Ticket, "priority", value)))
    status = functools.cache(lambda value: escaped(choice_label(Ticket, "status", value)))
    sla = functools.cache(sla_badge)
    select = _("Select %(reference)s")

    def row(ticket) -> str:
        reference = escaped(ticket.reference)
        local = ticket.created_at.astimezone(zone)  # timezone.localtime
        return ROW.format(
            select=SELECT.format(
                ticket.pk, escaped(select_form), escaped(select % {"reference": ticket.reference})
            )
            if select_form
            else "",
            url=escaped(detail(ticket.pk)),
            reference=reference,
            organisation=f"<td>{escaped(_organisation_name(ticket))}</td>"
            if show_organisation
            else "",
            subject=escaped(ticket.subject),
            requester=f"<td>{escaped(ticket.requester.full_name if ticket.requester else '—')}</td>"
            if show_requester
            else "",
            priority=escaped(ticket.priority),
            priority_label=priority(ticket.priority),
            status=status(ticket.status),
            sla=sla(ticket.sla_state),
            machine=escaped(local.replace(microsecond=0).isoformat()),  # machine_time
            opened=escaped(  # the date filter's "j M Y H:i T"
                f"{local.day} {months[local.month]} {local.year:04d} "
                f"{local.hour:02d}:{local.minute:02d} {local.tzname()}"
            ),
        )  # fmt: skip

    return row
