"""Reads of the sync for staff screens: the sources, their runs, one run's counters, and
the customer identities waiting for a person."""

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Membership, Organisation
from accounts.policy import managed_organisation_ids
from portal.records.models import (
    Invoice,
    Shipment,
)
from portal.sync.choices import IdentityStatus, RunStatus
from portal.sync.entities import counted_records
from portal.sync.models import CustomerIdentity, QuarantinedRecord, SourceSystem, SyncRun

IDENTITY_ACTIONS = [
    AuditAction.IDENTITY_MATCHED,
    AuditAction.IDENTITY_UNMATCHED,
    AuditAction.IDENTITY_NOT_OURS,
]

RECENT_RUNS = 20


def source_list() -> QuerySet[SourceSystem]:
    """Every source with its latest run's id, status and counts (`latest_run_id`,
    `latest_status`, `latest_read`, `latest_quarantined`)."""
    latest = SyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
    return SourceSystem.objects.annotate(
        latest_run_id=Subquery(latest.values("pk")[:1]),
        latest_status=Subquery(latest.values("status")[:1]),
        latest_read=Subquery(latest.values("read")[:1]),
        latest_quarantined=Subquery(latest.values("quarantined")[:1]),
    ).order_by("name")


def sources_needing_attention() -> QuerySet[SourceSystem]:
    """Enabled sources that are paused, whose latest run failed, needs attention or
    quarantined any record, or whose quarantined records still wait: the work queue's
    "Legacy systems" card (`waiting_quarantined` annotated)."""
    troubled = [RunStatus.FAILED, RunStatus.ATTENTION]
    waiting = (
        QuarantinedRecord.objects.filter(source=OuterRef("pk"), resolved_at__isnull=True)
        .order_by()
        .values("source")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        source_list()
        .annotate(waiting_quarantined=Coalesce(Subquery(waiting), 0))
        .filter(enabled=True)
        .filter(
            Q(latest_status__in=troubled)
            | ~Q(paused_reason="")
            | Q(latest_quarantined__gt=0)
            | Q(waiting_quarantined__gt=0)
        )
    )


def latest_runs(sources) -> dict[int, SyncRun]:
    """The latest run of each source given (annotated by `source_list`), by run id."""
    ids = [s.latest_run_id for s in sources if s.latest_run_id]
    return SyncRun.objects.in_bulk(ids)


def source_get(*, pk: int) -> SourceSystem:
    return get_object_or_404(SourceSystem, pk=pk)


def source_runs(*, source: SourceSystem) -> list[SyncRun]:
    return list(source.runs.order_by("-started_at")[:RECENT_RUNS])


def run_get(*, pk: int) -> SyncRun:
    return get_object_or_404(SyncRun.objects.select_related("source"), pk=pk)


# --- Customer identities ------------------------------------------------------------------------

PICKER_LIMIT = 20


def identity_queue(*, system: str = "", search: str = "") -> QuerySet[CustomerIdentity]:
    """Identities waiting for a person: those with a strong candidate first."""
    waiting = CustomerIdentity.objects.filter(status=IdentityStatus.WAITING)
    if system:
        waiting = waiting.filter(system=system)
    if search:
        waiting = waiting.filter(
            Q(external_name__icontains=search) | Q(external_id__icontains=search)
        )
    return waiting.order_by(F("score").desc(nulls_last=True), "system", "external_name", "pk")


def identity_queue_by_release(*, system: str = "", search: str = "") -> list[tuple[int, int]]:
    """[(identity pk, records a decision releases)] of the waiting identities, those that
    release the most first (then the strongest candidate): the order of the review. Two
    queries whatever the queue's length."""
    waiting = identity_queue(system=system, search=search).values_list(
        "pk", "system", "external_id"
    )
    released = hidden_record_counts()
    rows = [(pk, released.get((system, cid), 0)) for pk, system, cid in waiting]
    rows.sort(key=lambda row: -row[1])  # stable: the strongest candidate first among equals
    return rows


def hidden_record_counts() -> dict[tuple[str, str], int]:
    """{(system, customer id): records} of the records nobody sees yet (not deleted): what
    deciding on their customer releases. One query (a UNION ALL over the kinds)."""
    per_kind = [
        model.objects.filter(organisation__isnull=True, deleted_at__isnull=True)
        .values_list("source__system", "customer_id")
        .annotate(n=Count("pk"))
        .order_by()
        for model in (schema.model for schema in counted_records())
    ]
    counts: dict[tuple[str, str], int] = {}
    for system, customer_id, n in per_kind[0].union(*per_kind[1:], all=True):
        counts[system, customer_id] = counts.get((system, customer_id), 0) + n
    return counts


def identity_next(*, after: int, skipped: list[int]) -> CustomerIdentity | None:
    """The next identity to review after `after`: the first of the queue (in its order)
    that is neither it nor one the reviewer skipped."""
    passed = {after, *skipped}
    pk = next((pk for pk, _ in identity_queue_by_release() if pk not in passed), None)
    return CustomerIdentity.objects.filter(pk=pk).first() if pk else None


def identity_systems() -> list[str]:
    return list(
        CustomerIdentity.objects.order_by("system").values_list("system", flat=True).distinct()
    )


def identity_get(*, pk: int, user) -> CustomerIdentity:
    """One identity `user` may decide: unmatched, or matched to an organisation they manage
    (accounts.policy.managed_organisation_ids); any other answers 404."""
    identities = CustomerIdentity.objects.select_related("organisation", "matched_by")
    managed = managed_organisation_ids(user)
    if managed is not None:
        identities = identities.filter(Q(organisation__isnull=True) | Q(organisation__in=managed))
    return get_object_or_404(identities, pk=pk)


def decidable_organisations(user) -> QuerySet[Organisation]:
    """The organisations `user` may match legacy customers onto: all for admins, the
    accounts they manage for an account manager."""
    managed = managed_organisation_ids(user)
    organisations = Organisation.objects.all()
    return organisations if managed is None else organisations.filter(pk__in=managed)


def candidate_organisations(identities) -> dict[int, Organisation]:
    """The organisations the engine proposed for these identities, by pk (one query)."""
    pks = {c["organisation"] for identity in identities for c in identity.candidates}
    return Organisation.objects.only(
        "pk", "name", "customer_number", "city", "postcode", "email_domain", "phone", "street"
    ).in_bulk(pks)


def organisation_search(*, search: str, user) -> list[Organisation]:
    """Organisations whose name, customer number or city has `search`: the picker of the
    review screen, among those `user` may match onto (`decidable_organisations`)."""
    if not search.strip():
        return []
    words = search.split()
    found = decidable_organisations(user)
    for word in words:
        found = found.filter(
            Q(name__icontains=word) | Q(customer_number__iexact=word) | Q(city__iexact=word)
        )
    return list(found.only("pk", "name", "customer_number", "city").order_by("name")[:PICKER_LIMIT])


def record_counts(identities) -> dict[int, dict[str, int]]:
    """{identity pk: {kind: records}} of what each identity's system holds for it (not
    deleted): what a match makes visible. One query (a UNION ALL over the kinds)."""
    by_key = {(i.system, i.external_id): i.pk for i in identities}
    counts: dict[int, dict[str, int]] = {}
    if not by_key:
        return counts
    ids = {external_id for _, external_id in by_key}
    per_kind = [
        model.objects.filter(customer_id__in=ids, deleted_at__isnull=True)
        .annotate(kind=Value(label))
        .values_list("kind", "source__system", "customer_id")
        .annotate(n=Count("pk"))
        .order_by()
        for label, model in ((schema.label, schema.model) for schema in counted_records())
    ]
    for kind, system, customer_id, n in per_kind[0].union(*per_kind[1:], all=True):
        if (system, customer_id) in by_key:
            counts.setdefault(by_key[system, customer_id], {})[kind] = n
    return {pk: dict(sorted(kinds.items(), key=_kind_order)) for pk, kinds in counts.items()}


def _kind_order(item: tuple[str, int]) -> int:
    return [schema.label for schema in counted_records()].index(item[0])


def people_by_organisation(organisations) -> dict[int, int]:
    """{organisation pk: active people} who would see what a match makes visible."""
    return dict(
        Membership.objects.filter(
            organisation__in=list(organisations), is_active=True, user__is_active=True
        )
        .values_list("organisation")
        .annotate(n=Count("pk"))
        .order_by()
    )


def identity_history(identity: CustomerIdentity) -> QuerySet[AuditEvent]:
    """The decisions taken on this identity, newest first."""
    prefix = f"{identity.system}:{identity.external_id} "
    return (
        AuditEvent.objects.filter(action__in=IDENTITY_ACTIONS, target__startswith=prefix)
        .select_related("actor", "organisation")
        .order_by("-at")[:20]
    )


HELD_SHOWN = 20


def held_records() -> tuple[int, list[tuple]]:
    """Deliveries and invoices whose own customer and whose order's are different
    organisations: how many, and the first ones as (kind, record, its own customer's
    identity or None)."""
    first, total = [], 0
    for kind, model in (("delivery", Shipment), ("invoice", Invoice)):
        held = model.objects.filter(held=True, deleted_at__isnull=True)
        shown = list(
            held.select_related("source", "order__organisation").order_by("-pk")[:HELD_SHOWN]
        )
        total += held.count() if len(shown) == HELD_SHOWN else len(shown)
        first += [(kind, record) for record in shown]
    keys = {(record.source.system, record.customer_id) for _, record in first}
    identities = {
        (i.system, i.external_id): i
        for i in CustomerIdentity.objects.filter(
            system__in={system for system, _ in keys},
            external_id__in={customer for _, customer in keys},
        ).select_related("organisation")
    }
    rows = [
        (kind, record, identities.get((record.source.system, record.customer_id)))
        for kind, record in first[:HELD_SHOWN]
    ]
    return total, rows
