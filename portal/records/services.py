"""Writes that start from the customer's records: a reorder request from an order."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.models import User
from portal.records.models import Order, OrderLine
from tickets.choices import Category
from tickets.models import Ticket
from tickets.services import ticket_create

REORDER_HEADING = (
    "Reorder request: this is a request, not an order placed. Please confirm prices, "
    "stock and delivery with us before anything ships."
)


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"  # 5, 2.5: as people write them, never 5.000


def reorder_request(
    *,
    order: Order,
    requester: User,
    quantities: dict[int, Decimal],
    notes: str = "",
    via_view_as: bool = False,
) -> Ticket:
    """Ask for an order again, as a ticket routed to the department whose system the
    order came from (order entry's), about that order.

    `quantities` gives each line's new quantity by its id (0 leaves a line out; a line not
    given keeps its quantity). The ticket says it is a request, names the order and lists
    every line with what was asked then and now; nothing is ordered by it."""
    lines = list(OrderLine.objects.filter(order=order, deleted_at__isnull=True).order_by("pk"))
    if not lines:
        raise ValidationError(_("This order's lines have not arrived yet: open a ticket instead."))
    asked, left_out = [], []
    for line in lines:
        quantity = quantities.get(line.pk, line.quantity)
        if quantity < 0:
            raise ValidationError({f"line_{line.pk}": _("A quantity cannot be negative.")})
        product = " ".join(filter(None, [line.product_code, line.product_name]))
        was = f"(was {_quantity(line.quantity)})"
        if quantity == 0:
            left_out.append(f"- {product} {was}")
        else:
            asked.append(f"- {product}: {_quantity(quantity)} {was}")
    if not asked:
        raise ValidationError(_("Ask for at least one line (a quantity above 0)."))
    body = [
        REORDER_HEADING,
        "",
        f"Based on order {order.number} of {order.ordered_at:%-d %B %Y}.",
        "",
    ]
    body += ["Lines asked for:", *asked]
    if left_out:
        body += ["", "Left out:", *left_out]
    if notes.strip():
        body += ["", "Notes:", notes.strip()]
    return ticket_create(
        organisation=order.organisation,
        requester=requester,
        subject=f"Reorder request: order {order.number}",
        category=Category.REORDER,
        department=order.source.department,
        priority="normal",
        body="\n".join(body),
        via_view_as=via_view_as,
        about=("order", order.pk),
    )
