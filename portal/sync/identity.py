"""Which organisation a legacy system's customer id stands for.

Every (system, customer id) a sync meets is recorded once. Known ones give
their records an organisation; unknown ones wait in the review queue, their
records kept (and hidden) until someone matches them, which links every
record of that customer at once.
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import AuditAction
from accounts.models import Organisation, User
from accounts.services import audit_record
from portal.records.models import (
    CrmAccount,
    Invoice,
    LegacyTicket,
    Order,
    OrderLine,
    PriceAgreement,
    SampleReceipt,
    Shipment,
)
from portal.sync.models import CustomerIdentity, SourceSystem

LEGAL_WORDS = {
    "ltd", "limited", "plc", "llc", "llp", "inc", "gmbh", "ag", "sa", "bv", "co", "company",
    "the", "and", "of", "group",
}  # fmt: skip


def normalise_name(name: str) -> str:
    """'St. Mary's Hospital Ltd' and 'ST MARYS HOSPITAL' both become 'st marys hospital'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = text.replace("&", " and ").replace("'", "")
    words = re.findall(r"[a-z0-9]+", text)
    return " ".join(w for w in words if w not in LEGAL_WORDS)


def resolve(
    *, system: str, customers: dict[str, str], numbers: dict[str, str] | None = None
) -> dict:
    """Record the customers of a batch and return {external id: organisation id or None}.

    `customers` maps external id to the name the source uses. `numbers` maps
    external ids to one of *our* customer numbers where the source knows it
    (a CRM does; some systems use our numbers as their ids): those match at once.
    """
    if not customers:
        return {}
    CustomerIdentity.objects.bulk_create(
        [
            CustomerIdentity(system=system, external_id=cid, external_name=name[:200])
            for cid, name in customers.items()
        ],
        ignore_conflicts=True,
    )
    if numbers:
        ours = dict(
            Organisation.objects.filter(customer_number__in=set(numbers.values())).values_list(
                "customer_number", "pk"
            )
        )
        for cid, number in numbers.items():
            if number in ours:
                CustomerIdentity.objects.filter(
                    system=system, external_id=cid, organisation__isnull=True
                ).update(organisation_id=ours[number], matched_at=timezone.now())
    known = dict(
        CustomerIdentity.objects.filter(
            system=system, external_id__in=list(customers), organisation__isnull=False
        ).values_list("external_id", "organisation_id")
    )
    return {cid: known.get(cid) for cid in customers}


class Suggester:
    """Suggests organisations for legacy customers: same normalised name, or same number.

    Built once from the organisations someone may match to, then asked per identity
    without further queries.
    """

    def __init__(self, organisations):
        self.by_name: dict[str, list[Organisation]] = {}
        self.by_number: dict[str, list[Organisation]] = {}
        for organisation in organisations.only("pk", "name", "customer_number"):
            self.by_name.setdefault(normalise_name(organisation.name), []).append(organisation)
            digits = _digits(organisation.customer_number)
            if digits:
                self.by_number.setdefault(digits, []).append(organisation)

    def suggest(self, identity: CustomerIdentity, limit: int = 3) -> list[tuple]:
        found = [
            (o, "same name") for o in self.by_name.get(normalise_name(identity.external_name), [])
        ]
        found += [
            (o, "same customer number")
            for o in self.by_number.get(_digits(identity.external_id), [])
            if all(o.pk != f.pk for f, _ in found)
        ]
        return found[:limit]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text).lstrip("0")


def suggestions(identity: CustomerIdentity, limit: int = 3) -> list[tuple[Organisation, str]]:
    """Organisations this identity may be, with why: same normalised name or number."""
    return Suggester(Organisation.objects.all()).suggest(identity, limit)


def _check_may_match(by: User | None, *organisations: Organisation | None) -> None:
    """Matching decides which organisation sees a customer's records: staff only, and only
    between organisations the access policy lets them see (the old one and the new one).
    `by` None is the system (the demo, a command)."""
    if by is None:
        return
    if not by.is_employee:
        raise PermissionDenied
    wanted = {o.pk for o in organisations if o is not None}
    visible = Organisation.objects.visible_to(by).filter(pk__in=wanted)
    if len(wanted) != visible.count():
        raise PermissionDenied


@transaction.atomic
def identity_match(
    *, identity: CustomerIdentity, organisation: Organisation | None, by: User | None
) -> int:
    """Link a legacy customer to an organisation (or unlink it) and all its records.

    All or nothing, under a lock on the identity, so two people matching at once
    cannot split its records; the access policy is asked again for `by`, and the
    change is in the audit trail. Returns the number of records (orders, invoices,
    old tickets, prices, samples) that changed hands; lines and shipments follow
    their orders.
    """
    locked = CustomerIdentity.objects.select_for_update(of=("self",)).select_related("organisation")
    current = locked.get(pk=identity.pk)
    previous = current.organisation
    _check_may_match(by, previous, organisation)
    current.organisation = organisation
    current.matched_at = timezone.now() if organisation else None
    current.matched_by = by if organisation else None
    current.save(update_fields=["organisation", "matched_at", "matched_by"])
    sources = list(SourceSystem.objects.filter(system=current.system).values_list("pk", flat=True))
    organisation_id = organisation.pk if organisation else None
    changed = 0
    for model in (Order, Invoice, LegacyTicket, PriceAgreement, SampleReceipt):
        changed += model.objects.filter(
            source_id__in=sources, customer_id=current.external_id
        ).update(organisation_id=organisation_id)
    CrmAccount.objects.filter(source_id__in=sources, external_id=current.external_id).update(
        organisation_id=organisation_id
    )
    for child in (OrderLine, Shipment):
        link_children(child, order_sources=sources, child_sources=sources)
    _audit_match(current, previous, organisation, by, changed)
    identity.organisation, identity.matched_at = current.organisation, current.matched_at
    identity.matched_by = current.matched_by
    return changed


def _audit_match(identity, previous, organisation, by, changed: int) -> None:
    audit_record(
        actor=by,
        action=AuditAction.IDENTITY_MATCHED if organisation else AuditAction.IDENTITY_UNMATCHED,
        organisation=organisation or previous,
        target=f"{identity.system}:{identity.external_id} {identity.external_name}",
        detail={
            "from": previous.name if previous else None,
            "to": organisation.name if organisation else None,
            "records": changed,
        },
    )


def link_children(
    model,
    *,
    order_sources: list[int],
    child_sources: list[int],
    child_ids_sql: str = "",
    order_ids_sql: str = "",
    set_organisation: bool = True,
) -> None:
    """Point lines, shipments and invoices at their order.

    Lines and shipments also take their order's organisation (they do not name
    the customer themselves); invoices keep the one their own system gives.
    Set-based, one UPDATE ... FROM, writing only rows whose link changes.
    `child_ids_sql` / `order_ids_sql` (SQL selecting external ids) limit it to
    the children, or the orders, of the batch just written.
    """
    if not order_sources or not child_sources:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    orders = connection.ops.quote_name(Order._meta.db_table)
    order_marks = ", ".join(["%s"] * len(order_sources))
    child_marks = ", ".join(["%s"] * len(child_sources))
    assign = "order_id = o.id"
    changed = f"{table}.order_id IS DISTINCT FROM o.id"
    if set_organisation:
        assign += ", organisation_id = o.organisation_id"
        changed += f" OR {table}.organisation_id IS DISTINCT FROM o.organisation_id"
    scope = ""
    if child_ids_sql:
        scope += f" AND {table}.external_id IN ({child_ids_sql})"
    if order_ids_sql:
        scope += f" AND o.external_id IN ({order_ids_sql})"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assign} "  # noqa: S608 - identifiers from model meta
            f"FROM {orders} o WHERE o.external_id = {table}.order_id_external "
            f"AND o.source_id IN ({order_marks}) AND {table}.source_id IN ({child_marks}) "
            f"AND ({changed}){scope}",
            [*order_sources, *child_sources],
        )


def invoice_sources_for(system: str) -> list[int]:
    """Billing feeds whose invoices quote the orders of `system`."""
    return list(
        SourceSystem.objects.filter(entity="invoices", config__order_system=system).values_list(
            "pk", flat=True
        )
    )
