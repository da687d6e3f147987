"""The ticket table many pages show (work queue, ticket lists, the agents' queue).

Rendered here rather than as a template loop: 50 rows cost Django's template engine about
15 ms of CPU (a variable lookup chain per cell, two URL reversals and an include per row),
and the work queue shows three such tables. The same markup, escaped by `format_html`.
"""

from django import template
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.templatetags.ui import choice_label, machine_time, sla_badge, url_of
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
    detail = url_of("tickets:detail")
    rows = format_html_join(
        "",
        ROW,
        (_row(t, detail, show_organisation, show_requester, select_form) for t in tickets),
    )
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


def _row(ticket, detail, show_organisation: bool, show_requester: bool, select_form: str) -> dict:
    created = timezone.localtime(ticket.created_at)
    return {
        "select": (
            format_html(
                SELECT,
                ticket.pk,
                select_form,
                _("Select %(reference)s") % {"reference": ticket.reference},
            )
            if select_form
            else ""
        ),
        "url": detail(ticket.pk),
        "reference": ticket.reference,
        "organisation": (
            format_html("<td>{}</td>", ticket.organisation.name) if show_organisation else ""
        ),
        "subject": ticket.subject,
        "requester": (
            format_html("<td>{}</td>", ticket.requester.full_name if ticket.requester else "—")
            if show_requester
            else ""
        ),
        "priority": ticket.priority,
        "priority_label": choice_label(Ticket, "priority", ticket.priority),
        "status": choice_label(Ticket, "status", ticket.status),
        "sla": sla_badge(ticket.sla_state),
        "machine": machine_time(ticket.created_at),
        "opened": dateformat.format(created, "j M Y H:i T"),
    }
