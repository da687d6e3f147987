"""Following a ticket and copying a colleague on it (CC): writes, through the access policy.

Every member of an organisation sees all of its tickets; following one means also hearing
about its answers and its resolution by email, as the requester does (each person routes
those emails in their preferences, accounts/preferences.py). A customer follows a ticket
themselves, or a colleague puts them in CC. Only active members of the ticket's
organisation can follow it: staff follow accounts instead (accounts.services.account_follow),
and a CC can never reach an address outside the organisation.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, User, UserManager
from tickets.models import Ticket, TicketFollower


def _visible(ticket: Ticket, user: User) -> Ticket:
    visible = Ticket.objects.visible_to(user).filter(pk=ticket.pk).first()
    if visible is None:
        raise PermissionDenied
    return visible


def _member(ticket: Ticket, *, user: User | None = None, email: str = "") -> User | None:
    """The active member of the ticket's organisation (by person or by address), or None."""
    members = Membership.objects.filter(
        organisation_id=ticket.organisation_id, is_active=True, user__is_active=True
    ).select_related("user")
    if user is not None:
        members = members.filter(user=user)
    else:
        members = members.filter(user__email=UserManager.normalize_email(email.strip()))
    found = members.first()
    return found.user if found else None


@transaction.atomic
def ticket_follow(*, ticket: Ticket, user: User) -> TicketFollower:
    """`user` follows the ticket (again a no-op when they already do)."""
    ticket = _visible(ticket, user)
    if _member(ticket, user=user) is None:
        raise ValidationError(
            _("Only members of the ticket's organisation follow tickets; staff follow accounts.")
        )
    if ticket.requester_id == user.pk:
        raise ValidationError(_("You opened this ticket: you hear about it already."))
    follower, _created = TicketFollower.objects.get_or_create(
        ticket=ticket, user=user, defaults={"added_by": user}
    )
    return follower


@transaction.atomic
def ticket_unfollow(*, ticket: Ticket, user: User) -> None:
    """`user` stops following the ticket, whether they followed it or were put in CC."""
    ticket = _visible(ticket, user)
    TicketFollower.objects.filter(ticket=ticket, user=user).delete()


@transaction.atomic
def ticket_cc(
    *, ticket: Ticket, by: User, email: str = "", user: User | None = None
) -> TicketFollower:
    """Copy a colleague on the ticket: an active member of its organisation, named as a
    person or by email address. Anyone else (another organisation, staff, a stranger, a
    former colleague) is refused with the same message, so the form reveals nobody."""
    ticket = _visible(ticket, by)
    colleague = _member(ticket, user=user, email=email) if (user or email.strip()) else None
    if colleague is None:
        raise ValidationError(
            {"email": _("Enter the email address of a colleague in this organisation.")}
        )
    if colleague.pk == ticket.requester_id:
        raise ValidationError(
            {
                "email": _("%(person)s opened this ticket: they hear about it.")
                % {"person": colleague}
            }
        )
    follower, _created = TicketFollower.objects.get_or_create(
        ticket=ticket, user=colleague, defaults={"added_by": by}
    )
    return follower
