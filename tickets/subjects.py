"""What a ticket can be about: a record elsewhere in the portal (an order, an invoice, a
delivery), so "Question about this invoice?" opens a ticket that says which invoice.

Tickets sits below the portal and does not know those records: the portal registers
each kind (portal/records/subjects.py) with how to find one a person may see and how
to name and link it. A ticket keeps the kind, the id and the name it had, so it still
says what it was about if the record is later gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Subject:
    kind: str  # "invoice": the ?about=invoice:<id> of the link
    find: Callable[[Any, int], Any]  # (user, pk) -> the record, or None unless visible
    name: Callable[[Any], str]  # the record -> "invoice INV-1001"
    url: Callable[[Any], str]  # the record -> its page
    category: str  # the ticket category it suggests


_KINDS: dict[str, Subject] = {}


def register(subject: Subject) -> None:
    _KINDS[subject.kind] = subject


def parse(value: str) -> tuple[str, int] | None:
    """'invoice:12' -> ('invoice', 12); None for anything else."""
    kind, _, pk = (value or "").partition(":")
    if kind not in _KINDS or not pk.isdigit():
        return None
    return kind, int(pk)


def find(*, user, kind: str, pk: int) -> tuple[Subject, Any] | None:
    """The subject and its record, if this person may see it."""
    subject = _KINDS.get(kind)
    record = subject.find(user, pk) if subject else None
    return (subject, record) if record is not None else None
