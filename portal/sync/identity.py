"""Which organisation a legacy system's customer id stands for.

Every (system, customer id) a sync meets is recorded once, with what the source
says of it. The engine (matching.py) matches those it is sure of; the others
wait in the review queue with ranked candidates, their records kept (and
hidden) until someone decides, which links every record of that customer at
once. Every decision, the engine's or a person's, is audited and can be undone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Organisation, User
from accounts.platform import webhooks
from accounts.policy import may_decide_identity, may_match_identities
from accounts.services import audit_record
from portal.records.models import (
    Invoice,
    Order,
    OrderLine,
    Shipment,
)
from portal.sync.choices import IdentityStatus, MatchMethod
from portal.sync.entities import customer_records
from portal.sync.matching import Evidence, OrganisationIndex, Verdict, keys_in
from portal.sync.models import CustomerIdentity, SourceSystem


def resolve(
    *,
    system: str,
    customers: dict[str, Evidence],
    index: Callable | None = None,
    records: dict[str, dict] | None = None,
) -> dict:
    """Record the customers of a batch, resolve the new ones, and return
    {external id: organisation id or None}.

    `customers` maps external id to what the source says of it. Identities still
    waiting (new ones, or ones nobody has decided on) go through the engine, after
    a look for our customer number or a registry number anywhere in one of their
    raw `records`; `index` returns the OrganisationIndex to use (a run builds it once).
    """
    if not customers:
        return {}
    CustomerIdentity.objects.bulk_create(
        [new_identity(system, cid, evidence) for cid, evidence in customers.items()],
        ignore_conflicts=True,
    )
    batch = CustomerIdentity.objects.filter(system=system, external_id__in=list(customers))
    waiting = list(batch.filter(status=IdentityStatus.WAITING))
    if waiting:
        built = (index or OrganisationIndex.build)()
        for identity in waiting:
            _quoted_keys(identity, (records or {}).get(identity.external_id), built)
        _decide(waiting, built)
    return dict(batch.values_list("external_id", "organisation_id"))


def _quoted_keys(identity: CustomerIdentity, record: dict | None, index) -> None:
    """Our customer number or a registry number the raw record quotes somewhere, kept as
    the identity's evidence when its source maps neither."""
    if record is None or (identity.number and identity.registry_id):
        return
    number, registry = keys_in(record, index)
    identity.number = identity.number or number[:100]
    identity.registry_id = identity.registry_id or registry[:40]


def new_identity(system: str, external_id: str, evidence: Evidence) -> CustomerIdentity:
    return CustomerIdentity(
        system=system,
        external_id=external_id,
        external_name=evidence.name[:200],
        number=evidence.number[:100],
        registry_id=evidence.registry_id[:40],
        city=evidence.city[:100],
        postcode=evidence.postcode[:20],
        email_domain=evidence.email_domain[:100],
        phone=evidence.phone[:40],
        street=evidence.street[:200],
    )


def resolve_queue(*, index: OrganisationIndex | None = None, chunk: int = 2000) -> dict:
    """Run the engine over every waiting identity (after new organisations arrive, or
    the thresholds change); returns {"matched": n, "waiting": n}."""
    index = index or OrganisationIndex.build()
    pks = list(
        CustomerIdentity.objects.filter(status=IdentityStatus.WAITING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    matched = 0
    for start in range(0, len(pks), chunk):
        with transaction.atomic():
            waiting = list(
                CustomerIdentity.objects.select_for_update()
                .filter(pk__in=pks[start : start + chunk], status=IdentityStatus.WAITING)
                .order_by("pk")
            )
            matched += _decide(waiting, index)
    return {"matched": matched, "waiting": len(pks) - matched}


# Matches the engine made on its own; hard keys and people's decisions are not re-judged.
AUTOMATIC = [MatchMethod.NAME, MatchMethod.OTHER_SYSTEM]


def recheck_automatic_matches(*, apply: bool = True, chunk: int = 1000) -> list[dict]:
    """Judge every automatic match again by today's rule (matching.py); send those it no
    longer supports back to the review queue, their records hidden at once, audited.

    For deployments that matched by an older, looser rule (issue 23). Returns one row per
    match that changed: {"identity", "from", "now", "why"} (`now` is the organisation the
    rule would choose instead, if any: it is not chosen, a person decides). With
    `apply=False` nothing is written: a dry run.
    """
    index = OrganisationIndex.build()
    pks = list(
        CustomerIdentity.objects.filter(status=IdentityStatus.MATCHED, method__in=AUTOMATIC)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changed = []
    for start in range(0, len(pks), chunk):
        with transaction.atomic():
            batch = list(
                CustomerIdentity.objects.select_for_update(of=("self",))
                .select_related("organisation")
                .filter(pk__in=pks[start : start + chunk], status=IdentityStatus.MATCHED)
                .filter(method__in=AUTOMATIC)
                .order_by("pk")
            )
            unsupported = []
            for identity in batch:
                verdict = index.resolve(Evidence.of(identity), system=identity.system)
                if verdict.organisation_id == identity.organisation_id:
                    continue
                changed.append(_recheck_row(identity, verdict, index))
                unsupported.append((identity, verdict))
            if apply and unsupported:
                _send_back(unsupported)
    return changed


def _recheck_row(identity: CustomerIdentity, verdict: Verdict, index) -> dict:
    now = index.organisations.get(verdict.organisation_id)
    top = verdict.candidates[0]["why"] if verdict.candidates else ["no candidate"]
    return {
        "identity": _target(identity),
        "from": identity.organisation.name,
        "now": now.name if now else None,
        "why": verdict.why or top,
    }


def _send_back(unsupported: list[tuple[CustomerIdentity, Verdict]]) -> None:
    """Unmatch these identities (records hidden), keep the engine's new candidates, and
    audit each with what the old match was and why it no longer holds."""
    for identity, verdict in unsupported:
        previous = identity.organisation
        identity.organisation, identity.status = None, IdentityStatus.WAITING
        identity.matched_at = identity.matched_by = None
        identity.method, identity.score = "", verdict.score
        identity.evidence, identity.candidates = ["re-checked: not supported"], verdict.candidates
        identity.save()
        audit_record(
            actor=None,
            action=AuditAction.IDENTITY_UNMATCHED,
            organisation=previous,
            target=_target(identity),
            detail={
                "from": previous.name,
                "to": None,
                "reason": "re-checked by the current rule: not supported",
                "evidence": verdict.candidates[0]["why"] if verdict.candidates else [],
            },
        )
    link_records([identity.pk for identity, _ in unsupported])


DECIDED_FIELDS = [
    "status", "organisation", "method", "score", "evidence", "candidates", "matched_at",
    "number", "registry_id",
]  # fmt: skip


@transaction.atomic
def _decide(identities: list[CustomerIdentity], index: OrganisationIndex) -> int:
    """Ask the engine about each identity; write its verdicts, audit and link the
    automatic matches. Returns how many it matched."""
    now = timezone.now()
    matched, changed = [], []
    for identity in identities:
        verdict = index.resolve(Evidence.of(identity), system=identity.system)
        if identity.method == MatchMethod.HAND:
            # A person undid a match: the engine still ranks candidates, never decides.
            verdict = Verdict(None, MatchMethod.HAND, verdict.score, identity.evidence,
                              verdict.candidates)  # fmt: skip
        before = (identity.method, identity.score, identity.evidence, identity.candidates)
        identity.status = verdict.status
        identity.organisation_id = verdict.organisation_id
        identity.method, identity.score = verdict.method, verdict.score
        identity.evidence, identity.candidates = verdict.why, verdict.candidates
        if verdict.organisation_id:
            identity.matched_at = now
            matched.append(identity)
        if verdict.organisation_id or before != (
            identity.method,
            identity.score,
            identity.evidence,
            identity.candidates,
        ):
            changed.append(identity)  # a customer still waiting as it was costs no write
    # One INSERT ... ON CONFLICT UPDATE per thousand: bulk_update's CASE per row and
    # field took most of a whole-queue run's time.
    CustomerIdentity.objects.bulk_create(
        changed,
        update_conflicts=True,
        unique_fields=["system", "external_id"],
        update_fields=DECIDED_FIELDS,
        batch_size=1000,
    )
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                action=AuditAction.IDENTITY_MATCHED,
                organisation_id=identity.organisation_id,
                target=_target(identity),
                detail=_match_detail(
                    identity,
                    to=index.organisations[identity.organisation_id].name,
                    previous=None,
                    records=None,
                ),
            )
            for identity in matched
        ],
        batch_size=1000,
    )
    link_records([identity.pk for identity in matched])
    webhooks.events_emit([_matched_event(identity) for identity in matched])
    return len(matched)


def _matched_event(identity: CustomerIdentity, records: int | None = None) -> tuple:
    """The `identity.matched` webhook event: which legacy customer, how, and (for a
    decision by a person) how many records it made visible."""
    data = {
        "organisation": identity.organisation_id,
        "identity": {
            "system": identity.system,
            "external_id": identity.external_id,
            "external_name": identity.external_name,
            "method": identity.method,
        },
    }
    if records is not None:
        data["records"] = records
    return (webhooks.WebhookEvent.IDENTITY_MATCHED, identity.organisation_id, data)


def _target(identity: CustomerIdentity) -> str:
    return f"{identity.system}:{identity.external_id} {identity.external_name}"[:200]


def _match_detail(identity, *, to: str | None, previous, records: int | None) -> dict:
    detail = {
        "from": previous.name if previous else None,
        "to": to,
        "method": identity.method,
        "score": identity.score,
        "evidence": identity.evidence,
    }
    if records is not None:
        detail["records"] = records
    return detail


# --- Decisions people take ---------------------------------------------------------------------


def may_match(user: User | None) -> bool:
    """The access policy's answer (accounts.policy.may_match_identities); `None` is the
    system (the engine, the demo, a command)."""
    return user is None or may_match_identities(user)


def may_decide(user: User | None, *, current: int | None, to: int | None) -> bool:
    """The access policy's answer for one decision (accounts.policy.may_decide_identity):
    from organisation `current` to `to` (ids, None for nobody); `None` is the system."""
    return user is None or may_decide_identity(user, current=current, to=to)


def _check_may_decide(by: User | None, *, current: int | None, to: int | None) -> None:
    if not may_decide(by, current=current, to=to):
        raise PermissionDenied(_("Only an admin decides for organisations you do not manage."))


@transaction.atomic
def identity_match(
    *, identity: CustomerIdentity, organisation: Organisation | None, by: User | None
) -> int:
    """Link a legacy customer to an organisation (or unlink it) and all its records.

    All or nothing, under a lock on the identity, so two people matching at once
    cannot split its records; the right to match is asked again for `by`, and the
    change is in the audit trail with the evidence the engine had for that
    organisation. Returns the number of records (orders, invoices, old tickets,
    prices, samples) that changed hands; lines and shipments follow their orders.
    Unlinking (`organisation` None) hides the records again at once.
    """
    current = _locked(identity)
    previous = current.organisation
    _check_may_decide(
        by, current=current.organisation_id, to=organisation.pk if organisation else None
    )
    current.organisation = organisation
    current.status = IdentityStatus.MATCHED if organisation else IdentityStatus.WAITING
    current.matched_at = timezone.now() if organisation else None
    current.matched_by = by if organisation else None
    if organisation is None and by is not None:
        # Undone by a person: from now on the engine proposes, it does not match again.
        current.method, current.score, current.evidence = MatchMethod.HAND, None, ["undone"]
    if organisation:
        chosen = next((c for c in current.candidates if c["organisation"] == organisation.pk), None)
        current.method = MatchMethod.HAND if by else current.method
        current.score = chosen["score"] if chosen else None
        current.evidence = chosen["why"] if chosen else ["chosen by hand"]
    current.save()
    changed = link_records([current.pk])
    audit_record(
        actor=by,
        action=AuditAction.IDENTITY_MATCHED if organisation else AuditAction.IDENTITY_UNMATCHED,
        organisation=organisation or previous,
        target=_target(current),
        detail=_match_detail(
            current,
            to=organisation.name if organisation else None,
            previous=previous,
            records=changed,
        ),
    )
    if organisation:
        webhooks.events_emit([_matched_event(current, records=changed)])
    _copy_decision(current, identity)
    return changed


@transaction.atomic
def identity_not_ours(*, identity: CustomerIdentity, by: User | None) -> int:
    """Say a legacy customer is none of our organisations: its records stay hidden (or
    are hidden again) and the engine stops proposing it. Undone by `identity_match`
    with no organisation, which puts it back in the queue."""
    current = _locked(identity)
    previous = current.organisation
    _check_may_decide(by, current=current.organisation_id, to=None)
    current.organisation, current.status = None, IdentityStatus.NOT_OURS
    current.matched_at, current.matched_by = timezone.now(), by
    current.save()
    changed = link_records([current.pk])
    audit_record(
        actor=by,
        action=AuditAction.IDENTITY_NOT_OURS,
        organisation=previous,
        target=_target(current),
        detail={"from": previous.name if previous else None, "records": changed},
    )
    _copy_decision(current, identity)
    return changed


def _locked(identity: CustomerIdentity) -> CustomerIdentity:
    locked = CustomerIdentity.objects.select_for_update(of=("self",)).select_related("organisation")
    return locked.get(pk=identity.pk)


def _copy_decision(source: CustomerIdentity, target: CustomerIdentity) -> None:
    for name in ("organisation", "status", "matched_at", "matched_by", "method", "score"):
        setattr(target, name, getattr(source, name))
    target.evidence = source.evidence


def _name_own_customers(systems: set[str]) -> bool:
    """Whether these systems have shipments naming their own customers, or invoices
    quoting orders."""
    return (
        Shipment.objects.filter(source__system__in=systems).exclude(customer_id="").exists()
        or SourceSystem.objects.filter(
            system__in=systems, entity="invoices", config__has_key="order_system"
        ).exists()
    )


def link_records(identity_pks: list[int]) -> int:
    """Give every record of these identities their identity's organisation (None hides
    them), set-based; lines and shipments follow their orders. Returns how many
    records (not counting lines, shipments or CRM accounts) changed hands."""
    if not identity_pks:
        return 0
    changed = 0
    identities = connection.ops.quote_name(CustomerIdentity._meta.db_table)
    sources = connection.ops.quote_name(SourceSystem._meta.db_table)
    for start in range(0, len(identity_pks), 500):
        pks = identity_pks[start : start + 500]
        marks = ", ".join(["%s"] * len(pks))
        for schema in customer_records():
            model, column = schema.model, schema.customer_column
            table = connection.ops.quote_name(model._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET organisation_id = ci.organisation_id "  # noqa: S608
                    f"FROM {identities} ci, {sources} s "
                    f"WHERE ci.id IN ({marks}) AND s.system = ci.system "
                    f"AND {table}.source_id = s.id AND {table}.{column} = ci.external_id "
                    f"AND {table}.organisation_id IS DISTINCT FROM ci.organisation_id",
                    pks,
                )
                changed += 0 if schema.is_customer else cursor.rowcount
    systems = CustomerIdentity.objects.filter(pk__in=identity_pks).values_list("system")
    systems = {system for (system,) in systems.distinct()}
    if changed or _name_own_customers(systems):
        relink_children(systems)
    return changed


def link_children(
    model,
    *,
    order_sources: list[int],
    child_sources: list[int],
    child_ids_sql: str = "",
    order_ids_sql: str = "",
) -> None:
    """Point lines, shipments and invoices at their order.

    Lines take their order's organisation, shipments and invoices as
    `_organisation_sql` says (held, shown to neither, when their own customer and
    their order's are different organisations). Set-based, one UPDATE ... FROM,
    writing only rows whose link changes. `child_ids_sql` / `order_ids_sql` (SQL
    selecting external ids) limit it to the children, or the orders, of the batch
    just written.
    """
    if not order_sources or not child_sources:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    orders = connection.ops.quote_name(Order._meta.db_table)
    order_marks = ", ".join(["%s"] * len(order_sources))
    child_marks = ", ".join(["%s"] * len(child_sources))
    assign = "order_id = o.id"
    changed = f"{table}.order_id IS DISTINCT FROM o.id"
    organisation, held = _organisation_sql(model, table)
    assign += f", organisation_id = {organisation}"
    changed += f" OR {table}.organisation_id IS DISTINCT FROM {organisation}"
    if held:
        assign += f", held = {held}"
        changed += f" OR {table}.held IS DISTINCT FROM {held}"
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


def _organisation_sql(model, table: str) -> tuple[str, str]:
    """SQL for the organisation a child takes, given its order `o`, and for `held`.

    Lines follow their order, and so do shipments that name no customer of their own.
    A shipment or invoice that names its own customer is shown when that customer and its
    order's are both decided and agree; until both are decided it waits hidden, and when
    they disagree it is held, shown to neither.
    """
    if model is OrderLine:
        return "o.organisation_id", ""
    identities = connection.ops.quote_name(CustomerIdentity._meta.db_table)
    sources = connection.ops.quote_name(SourceSystem._meta.db_table)
    own = (
        f"(SELECT ci.organisation_id FROM {identities} ci JOIN {sources} s "  # noqa: S608
        f"ON s.system = ci.system WHERE s.id = {table}.source_id "
        f"AND ci.external_id = {table}.customer_id)"
    )
    order = "o.organisation_id"
    # A child naming a customer of its own waits, hidden, until both its customer and its
    # order's are decided (issue 24): an undecided one may be anybody.
    if model is Shipment:
        organisation = (
            f"(CASE WHEN {table}.customer_id = '' THEN {order} "
            f"WHEN {own} = {order} THEN {order} END)"
        )
    else:
        organisation = f"(CASE WHEN {own} = {order} THEN {own} END)"
    held = f"({own} IS NOT NULL AND {order} IS NOT NULL AND {order} <> {own})"
    return organisation, held


def order_sources_of(source: SourceSystem) -> list[int]:
    """The order feeds whose orders `source` quotes: its own system's, or those of the
    system its config names (`order_system`: a billing or fulfilment system of its own)."""
    system = source.config.get("order_system") or source.system
    return list(
        SourceSystem.objects.filter(system=system, entity="orders").values_list("pk", flat=True)
    )


def child_sources_for(entity: str, system: str, *, own: bool = True) -> list[int]:
    """The feeds of `entity` whose records quote the orders of `system`: those naming it as
    their `order_system`, and (with `own`) the system's own feeds that name no other."""
    quoting = Q(config__order_system=system)
    if own:
        quoting |= Q(system=system) & ~Q(config__has_key="order_system")
    return list(SourceSystem.objects.filter(quoting, entity=entity).values_list("pk", flat=True))


def relink_children(systems: set[str]) -> None:
    """Lines, shipments and invoices after decisions on customers of `systems`: lines
    follow orders that changed hands; shipments and invoices also their own customers."""
    for system in systems:
        own = list(SourceSystem.objects.filter(system=system).values_list("pk", flat=True))
        link_children(OrderLine, order_sources=own, child_sources=own)
        for model, entity in ((Shipment, "shipments"), (Invoice, "invoices")):
            link_children(
                model,
                order_sources=own,
                child_sources=child_sources_for(entity, system, own=model is Shipment),
            )
            for source in SourceSystem.objects.filter(
                system=system, entity=entity, config__has_key="order_system"
            ):
                link_children(
                    model, order_sources=order_sources_of(source), child_sources=[source.pk]
                )


@transaction.atomic
def organisation_from_identity(
    *, identity: CustomerIdentity, name: str, customer_number: str, by: User
) -> Organisation:
    """A new organisation made of what the legacy system knows of its customer, matched
    to it (admins: the same right as creating one in Django admin)."""
    if not by.is_portal_admin:
        raise PermissionDenied(_("Only admins create organisations."))
    organisation = Organisation.objects.create(
        name=name,
        customer_number=customer_number,
        registry_id=identity.registry_id,
        city=identity.city,
        postcode=identity.postcode,
        email_domain=identity.email_domain,
        phone=identity.phone,
        street=identity.street,
    )
    audit_record(
        actor=by,
        action=AuditAction.ORGANISATION_CREATED,
        organisation=organisation,
        target=organisation.name,
        detail={"from identity": _target(identity)},
    )
    identity_match(identity=identity, organisation=organisation, by=by)
    return organisation
