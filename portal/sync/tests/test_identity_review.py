"""Identity resolution in the sync and on the review screen: automatic matches in a batch,
the confirmation of what becomes visible to whom, bulk accept, not ours, a new
organisation, undo, and the organisation picker across every organisation."""

from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Organisation
from accounts.tests.factories import OrganisationFactory
from portal.records import selectors as records
from portal.records.models import Invoice, Order, Shipment
from portal.sync import identity
from portal.sync.choices import IdentityStatus, MatchMethod
from portal.sync.models import CustomerIdentity, SourceSystem
from portal.sync.tests.legacy import T0, sync


@pytest.fixture(autouse=True)
def cities(world):
    """A is in York, B in Leeds: the evidence a name needs to decide (issue 23)."""
    Organisation.objects.filter(pk=world.org_a.pk).update(city="York")
    Organisation.objects.filter(pk=world.org_b.pk).update(city="Leeds")


def waiting_identity(
    legacy, order_source, *, cust="OE-7", name="ALFA CLINIK", orders=2, first=1, city=""
):
    """A customer of order entry the engine is not sure of, with `orders` orders."""
    for i in range(first, first + orders):
        legacy.put(i, cust=cust, name=name, at=T0 + timedelta(minutes=i), city=city)
    sync(order_source)
    return CustomerIdentity.objects.get(external_id=cust)


def test_a_batch_matches_the_customers_it_is_sure_of_and_audits_why(legacy, order_source, world):
    legacy.put(1, cust="OE-1", name="ALPHA CLINIC LTD (HQ)", city="YORK")  # A: "Alpha Clinic"
    legacy.put(2, cust="OE-2", name="Zebra Quantum Freight")  # nobody's
    legacy.put(3, cust="OE-3", name="Alpha Clinic")  # A's name, nothing else: a candidate

    sync(order_source)

    sure = CustomerIdentity.objects.get(external_id="OE-1")
    assert (sure.status, sure.organisation, sure.method) == ("matched", world.org_a, "name")
    assert Order.objects.visible_to(world.member_a).count() == 1  # visible in the same run
    event = AuditEvent.objects.get(action=AuditAction.IDENTITY_MATCHED)
    assert event.actor is None  # the engine
    assert event.detail["evidence"][0].startswith("same name +")
    assert event.detail["evidence"][1].startswith("same city +")
    unknown = CustomerIdentity.objects.get(external_id="OE-2")
    assert (unknown.status, unknown.candidates) == ("waiting", [])
    alone = CustomerIdentity.objects.get(external_id="OE-3")
    assert (alone.status, alone.candidates[0]["organisation"]) == ("waiting", world.org_a.pk)


def test_same_name_in_two_cities_waits_with_both_ranked(legacy, order_source, world):
    OrganisationFactory(name="Alpha Clinic", customer_number="C-A002", city="Leeds")
    pending = waiting_identity(legacy, order_source, name="Alpha Clinic")
    assert pending.status == IdentityStatus.WAITING
    assert len(pending.candidates) == 2
    assert len({c["score"] for c in pending.candidates}) == 1  # nothing tells them apart


def test_the_review_page_says_what_becomes_visible_to_whom(client, legacy, order_source, world):
    pending = waiting_identity(legacy, order_source)
    assert pending.candidates[0]["organisation"] == world.org_a.pk  # close, unconfirmed
    client.force_login(world.am_a)  # A's AM: they decide for A
    url = reverse("portal:identity", args=[pending.pk])

    page = client.get(url, {"organisation": world.org_a.pk}).content.decode()

    people = world.org_a.memberships.filter(is_active=True).count()
    assert f"2 records become visible to Alpha Clinic's {people} users" in page
    assert "(2 orders)" in page
    client.post(
        reverse("portal:identity_match", args=[pending.pk]), {"organisation": world.org_a.pk}
    )
    assert Order.objects.visible_to(world.member_a).count() == 2
    pending.refresh_from_db()
    assert (pending.status, pending.method, pending.matched_by) == ("matched", "hand", world.am_a)
    assert pending.evidence == pending.candidates[0]["why"]  # the engine's reasons, kept


def test_undo_hides_the_records_again_at_once(client, legacy, order_source, world):
    pending = waiting_identity(legacy, order_source)
    identity.identity_match(identity=pending, organisation=world.org_a, by=world.am_a)
    client.force_login(world.am_a)
    page = client.get(reverse("portal:identity", args=[pending.pk])).content.decode()
    assert "Undoing hides its 2 records from Alpha Clinic" in page

    client.post(reverse("portal:identity_unmatch", args=[pending.pk]))

    assert not Order.objects.visible_to(world.member_a).exists()
    pending.refresh_from_db()
    assert (pending.status, pending.organisation) == ("waiting", None)
    history = client.get(reverse("portal:identity", args=[pending.pk])).content.decode()
    assert "Unmatched a legacy customer" in history
    assert "Matched a legacy customer to an organisation to Alpha Clinic" in history


def test_not_our_customer_keeps_its_records_hidden_and_leaves_the_queue(
    client, legacy, order_source, world
):
    pending = waiting_identity(legacy, order_source)
    client.force_login(world.admin)
    client.post(reverse("portal:identity_not_ours", args=[pending.pk]))
    pending.refresh_from_db()
    assert pending.status == IdentityStatus.NOT_OURS
    assert not Order.objects.visible_to(world.admin).exists()
    queue = client.get(reverse("portal:identity_queue")).content.decode()
    assert reverse("portal:identity", args=[pending.pk]) not in queue
    legacy.put(9, cust="OE-7", name="ALFA CLINIK", at=T0 + timedelta(hours=1))
    sync(order_source)  # a later batch does not ask the engine again
    pending.refresh_from_db()
    assert pending.status == IdentityStatus.NOT_OURS
    assert AuditEvent.objects.filter(action=AuditAction.IDENTITY_NOT_OURS).count() == 1


def test_an_admin_makes_a_new_organisation_of_a_legacy_customer(
    client, legacy, order_source, world
):
    pending = waiting_identity(legacy, order_source, name="Zebra Quantum Freight")
    client.force_login(world.admin)
    url = reverse("portal:identity_new_organisation", args=[pending.pk])
    taken = client.post(url, {"name": "Zebra Freight", "customer_number": "C-A001"}, follow=True)
    assert "Customer number C-A001 is already taken." in taken.content.decode()
    assert not Organisation.objects.filter(name="Zebra Freight").exists()

    client.post(url, {"name": "Zebra Freight", "customer_number": "C-Z001"})

    created = Organisation.objects.get(customer_number="C-Z001")
    pending.refresh_from_db()
    assert pending.organisation == created
    assert Order.objects.filter(organisation=created).count() == 2


def test_bulk_accept_confirms_first_then_matches_the_top_candidates(
    client, legacy, order_source, world
):
    first = waiting_identity(legacy, order_source, cust="OE-7", name="ALFA CLINIK")
    second = waiting_identity(
        legacy, order_source, cust="OE-8", name="BRAVO HOSPTIAL", orders=1, first=3
    )
    client.force_login(world.admin)  # onto two organisations no one AM manages
    url = reverse("portal:identity_accept")

    confirm = client.post(url, {"identity": [first.pk, second.pk]}).content.decode()

    assert "2 records become visible to Alpha Clinic" in confirm
    assert "1 record becomes visible to Bravo Hospital" in confirm
    assert not Order.objects.visible_to(world.admin).exists()  # nothing yet
    client.post(url, {"identity": [first.pk, second.pk], "confirm": "1"})
    assert Order.objects.visible_to(world.member_a).count() == 2
    assert Order.objects.visible_to(world.member_b).count() == 1
    assert CustomerIdentity.objects.filter(method=MatchMethod.HAND).count() == 2


def test_the_picker_searches_every_organisation_by_name_number_or_city(client, world):
    OrganisationFactory(name="Harbour Paediatrics", customer_number="C-H001", city="Exeter")
    pending = CustomerIdentity.objects.create(system="x", external_id="1", external_name="HP")
    client.force_login(world.admin)  # an AM finds only their own accounts (authority tests)
    url = reverse("portal:identity", args=[pending.pk])
    for search in ("harbour", "C-H001", "exeter", "paed harb"):
        fragment = client.get(url, {"q": search, "picker": "1"}, headers={"HX-Request": "true"})
        assert "Harbour Paediatrics" in fragment.content.decode(), search
    none = client.get(url, {"q": "nowhere", "picker": "1"}, headers={"HX-Request": "true"})
    assert "No organisation has" in none.content.decode()


@pytest.mark.parametrize("person", ["agent", "member_a"])
def test_only_matchers_reach_the_identity_screens(client, world, person):
    pending = CustomerIdentity.objects.create(system="x", external_id="1", external_name="HP")
    client.force_login(getattr(world, person))
    assert client.get(reverse("portal:identity", args=[pending.pk])).status_code == 404


def test_the_whole_queue_task_matches_what_new_organisations_make_sure(legacy, order_source, world):
    pending = waiting_identity(legacy, order_source, name="Zebra Quantum Freight", city="Hull")
    OrganisationFactory(name="Zebra Quantum Freight Ltd", customer_number="C-Z002", city="Hull")
    assert identity.resolve_queue() == {"matched": 1, "waiting": 0}
    pending.refresh_from_db()
    assert pending.organisation.customer_number == "C-Z002"
    assert Order.objects.filter(organisation=pending.organisation).count() == 2


@pytest.fixture
def fulfilment(legacy, db):
    """A fulfilment system of its own: it quotes order entry's orders and names its own
    customers, with ids of its own."""
    legacy.db.execute(
        "CREATE TABLE shipments (id TEXT PRIMARY KEY, order_no TEXT, cust TEXT, cust_name TEXT,"
        " carrier TEXT, status TEXT, updated_at TEXT, city TEXT)"
    )
    fields = {"external_id": "id", "order_id": "order_no", "customer_id": "cust",
              "customer_name": "cust_name", "carrier": "carrier", "status": "status",
              "customer_city": "city"}  # fmt: skip
    return SourceSystem.objects.create(
        name="Fulfilment", system="fulfilment", department="logistics", kind="sql",
        entity="shipments",
        config={"dsn_env": "TEST_ORDERS_DSN", "table": "shipments", "key_column": "id",
                "cursor_column": "updated_at", "order_system": "order-entry", "fields": fields},
    )  # fmt: skip


def ship(legacy, ref, *, order, cust, name, city=""):
    legacy.db.execute(
        "INSERT OR REPLACE INTO shipments VALUES (?,?,?,?,?,?,?,?)",
        (ref, order, cust, name, "DHL", "shipped", T0.isoformat(), city),
    )
    legacy.db.commit()


def test_a_delivery_whose_own_customer_disagrees_with_its_order_is_held(
    client, legacy, order_source, fulfilment, world
):
    legacy.put(1, cust="OE-1", name="Alpha Clinic", city="York")  # order entry: A
    sync(order_source)
    ship(legacy, "S-1", order="1", cust="F-1", name="Alpha Clinic Ltd", city="York")  # A too
    ship(legacy, "S-2", order="1", cust="F-2", name="Bravo Hospital", city="Leeds")  # B

    sync(fulfilment)

    agreed, disputed = Shipment.objects.order_by("external_id")
    assert (agreed.organisation, agreed.held, agreed.customer_id) == (world.org_a, False, "F-1")
    assert (disputed.organisation, disputed.held) == (None, True)  # neither side sees it
    assert not Shipment.objects.visible_to(world.member_b).exists()
    assert list(Shipment.objects.visible_to(world.member_a)) == [agreed]
    order = records.order_get(user=world.member_a, pk=Order.objects.get().pk)
    assert order.shown_shipments == [agreed]  # not on its order's page either
    client.force_login(world.am_a)
    queue = client.get(reverse("portal:identity_queue")).content.decode()
    assert "Records held (1)" in queue
    assert "matched to Bravo Hospital" in queue

    # The fulfilment system's F-2 was wrongly matched: undoing it (B's AM or an admin)
    # lets the order decide.
    bravo = CustomerIdentity.objects.get(system="fulfilment", external_id="F-2")
    identity.identity_match(identity=bravo, organisation=None, by=world.am_b)
    disputed.refresh_from_db()
    # Its own customer undecided, it waits hidden until both are decided (issue 24).
    assert (disputed.organisation, disputed.held) == (None, False)
    # And when the order itself changes hands to agree with it, it follows too.
    identity.identity_match(identity=bravo, organisation=world.org_b, by=world.am_b)
    assert Shipment.objects.get(external_id="S-2").held
    order_customer = CustomerIdentity.objects.get(system="order-entry", external_id="OE-1")
    identity.identity_match(identity=order_customer, organisation=world.org_b, by=world.admin)
    assert Shipment.objects.get(external_id="S-2").organisation == world.org_b
    assert Shipment.objects.get(external_id="S-1").held  # now S-1 (A) disagrees


def test_an_invoice_whose_billing_customer_disagrees_with_its_order_is_held(
    client, legacy, order_source, world, tmp_path
):
    legacy.put(1, cust="OE-1", name="Alpha Clinic", city="York")  # order entry: A
    sync(order_source)
    drop = tmp_path / "billing"
    drop.mkdir()
    (drop / "inv.csv").write_text(
        "number;customer;name;order;amount;currency;issued;city\n"
        "R-1;K-1;Alpha Clinic;1;10.00;EUR;2026-11-05;York\n"  # agrees with its order
        "R-2;K-2;Bravo Hospital;1;20.00;EUR;2026-11-05;Leeds\n"  # B's billing customer, A's order
        "R-3;K-2;Bravo Hospital;;30.00;EUR;2026-11-05;Leeds\n"  # no order: B's, by its customer
    )
    billing = SourceSystem.objects.create(
        name="Billing", system="billing", department="billing", kind="csv", entity="invoices",
        config={"path": str(drop), "order_system": "order-entry", "fields": {
            "external_id": "number", "number": "number", "customer_id": "customer",
            "customer_name": "name", "order_id": {"from": "order", "required": False},
            "amount": {"from": "amount", "type": "decimal"},
            "currency": {"from": "currency", "type": "currency"},
            "issued_on": {"from": "issued", "type": "date"}, "customer_city": "city"}},
    )  # fmt: skip

    sync(billing)

    held = Invoice.objects.get(number="R-2")
    assert (held.organisation, held.held) == (None, True)
    assert sorted(Invoice.objects.visible_to(world.member_a).values_list("number", flat=True)) == [
        "R-1"
    ]
    assert list(Invoice.objects.visible_to(world.member_b).values_list("number", flat=True)) == [
        "R-3"
    ]
    client.force_login(world.am_a)
    assert "Invoice R-2" in client.get(reverse("portal:identity_queue")).content.decode()
    # Billing's K-2 is matched again, to A (an admin's move): the invoice is released to A.
    k2 = CustomerIdentity.objects.get(system="billing", external_id="K-2")
    identity.identity_match(identity=k2, organisation=world.org_a, by=world.admin)
    held.refresh_from_db()
    assert (held.organisation, held.held) == (world.org_a, False)


def test_our_customer_number_quoted_anywhere_in_the_record_matches(legacy, order_source, world):
    """Order entry does not map our customer number, but its people typed it into the
    name: a hard key all the same ("ORD-CUST-0007" and our "C-10007" had defeated the
    name match)."""
    legacy.put(1, cust="ORD-CUST-0007", name="AC (acct C-A001)")

    sync(order_source)

    found = CustomerIdentity.objects.get(external_id="ORD-CUST-0007")
    assert (found.organisation, found.method, found.number) == (world.org_a, "number", "C-A001")
    assert found.evidence == ["customer number C-A001"]
    assert Order.objects.visible_to(world.member_a).count() == 1


def test_a_match_a_person_undid_is_not_made_again_by_the_engine(legacy, order_source, world):
    legacy.put(1, cust="OE-1", name="Alpha Clinic", city="York")  # the engine matches it
    sync(order_source)
    wrong = CustomerIdentity.objects.get(external_id="OE-1")
    assert wrong.organisation == world.org_a
    identity.identity_match(identity=wrong, organisation=None, by=world.am_a)  # "not that one"

    legacy.put(2, cust="OE-1", name="Alpha Clinic", at=T0 + timedelta(minutes=5), city="York")
    sync(order_source)  # a later batch with the same customer
    identity.resolve_queue()  # and the hourly run over the queue

    wrong.refresh_from_db()
    assert (wrong.status, wrong.organisation, wrong.method) == ("waiting", None, "hand")
    assert wrong.candidates[0]["organisation"] == world.org_a.pk  # still proposed
    assert not Order.objects.visible_to(world.member_a).exists()


def test_a_delivery_naming_an_undecided_customer_waits_hidden_until_both_are_decided(
    legacy, order_source, fulfilment, world
):
    """Issue 24: it used to follow its order while its own customer was undecided, so a
    delivery of another company could show on the order's organisation."""
    legacy.put(1, cust="OE-1", name="Alpha Clinic", city="York")  # order entry: A
    sync(order_source)
    ship(legacy, "S-1", order="1", cust="F-9", name="Alfa Klinik")  # who? nobody knows yet
    sync(fulfilment)

    delivery = Shipment.objects.get(external_id="S-1")
    assert (delivery.organisation, delivery.held) == (None, False)
    assert not Shipment.objects.visible_to(world.member_a).exists()
    own = CustomerIdentity.objects.get(system="fulfilment", external_id="F-9")
    assert own.status == IdentityStatus.WAITING
    identity.identity_match(identity=own, organisation=world.org_a, by=world.am_a)
    delivery.refresh_from_db()
    assert (delivery.organisation, delivery.held) == (world.org_a, False)
