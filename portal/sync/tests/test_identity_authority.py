"""Authority follows the account: an account manager decides only legacy customers that
are unmatched or matched to an account they manage, and only onto accounts they manage
(issue 23). Everything else answers 404 for them; admins decide for every organisation."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.policy import may_decide_identity
from portal.records.models import Invoice, Order
from portal.sync import identity
from portal.sync.choices import IdentityStatus, MatchMethod
from portal.sync.models import CustomerIdentity
from portal.tests.records import add_orders


@pytest.fixture
def harbour(world):
    """B plays Harbour: its order-entry customer, matched by our customer number, with
    three orders (each with an invoice and a delivery). A plays Northwind, am_a its AM."""
    add_orders(world.org_b, 3)
    matched = CustomerIdentity.objects.create(
        system="oe", external_id="C", external_name="Harbour Paediatrics",
        status=IdentityStatus.MATCHED, organisation=world.org_b, method=MatchMethod.NUMBER,
        candidates=[{"organisation": world.org_a.pk, "score": 80, "why": ["name 80 %"]}],
    )  # fmt: skip
    return matched


def _records_of(organisation) -> tuple[int, int]:
    """Its orders and invoices (deliveries follow orders: test_identity_review.py)."""
    return (
        Order.objects.filter(organisation=organisation).count(),
        Invoice.objects.filter(organisation=organisation).count(),
    )


def test_an_am_cannot_move_another_organisations_customer_to_their_own(client, world, harbour):
    """The issue's case: Northwind's AM moved Harbour's identities to Northwind, and
    Northwind's users saw Harbour's orders, invoices and deliveries."""
    client.force_login(world.am_a)
    url = reverse("portal:identity_match", args=[harbour.pk])

    response = client.post(url, {"organisation": world.org_a.pk})

    assert response.status_code == 404
    assert _records_of(world.org_b) == (3, 3)
    assert _records_of(world.org_a) == (0, 0)
    assert CustomerIdentity.objects.get(pk=harbour.pk).organisation == world.org_b
    assert Order.objects.visible_to(world.member_a).count() == 0


@pytest.mark.parametrize(
    ("route", "data"),
    [
        ("portal:identity", {}),
        ("portal:identity_unmatch", {}),
        ("portal:identity_not_ours", {}),
    ],
)
def test_an_am_gets_404_for_a_customer_matched_to_an_account_they_do_not_manage(
    client, world, harbour, route, data
):
    client.force_login(world.am_a)
    url = reverse(route, args=[harbour.pk])
    response = client.post(url, data) if route != "portal:identity" else client.get(url)
    assert response.status_code == 404
    assert _records_of(world.org_b) == (3, 3)


def test_the_am_of_the_account_may_undo_and_rematch_onto_their_own_accounts(client, world, harbour):
    client.force_login(world.am_b)
    assert client.post(reverse("portal:identity_unmatch", args=[harbour.pk])).status_code == 302
    assert _records_of(world.org_b) == (0, 0)
    # ... but not onto an account they do not manage,
    match = reverse("portal:identity_match", args=[harbour.pk])
    assert client.post(match, {"organisation": world.org_a.pk}).status_code == 404
    # ... only back onto their own.
    assert client.post(match, {"organisation": world.org_b.pk}).status_code == 302
    assert _records_of(world.org_b) == (3, 3)


def test_an_admin_moves_a_customer_between_any_organisations(client, world, harbour):
    client.force_login(world.admin)
    url = reverse("portal:identity_match", args=[harbour.pk])
    assert client.post(url, {"organisation": world.org_a.pk}).status_code == 302
    assert _records_of(world.org_a) == (3, 3)


def test_bulk_accept_onto_an_account_the_am_does_not_manage_is_404(client, world, harbour):
    identity.identity_match(identity=harbour, organisation=None, by=world.admin)  # waits again
    client.force_login(world.am_b)  # its top candidate is A, which am_b does not manage
    url = reverse("portal:identity_accept")
    for confirm in ("", "1"):
        response = client.post(url, {"identity": [harbour.pk], "confirm": confirm})
        assert response.status_code == 404
    assert CustomerIdentity.objects.get(pk=harbour.pk).status == IdentityStatus.WAITING
    client.force_login(world.am_a)  # A's AM may accept it onto A
    client.post(url, {"identity": [harbour.pk], "confirm": "1"})
    assert _records_of(world.org_a) == (3, 3)


def test_the_picker_offers_an_am_only_the_accounts_they_manage(client, world, harbour):
    identity.identity_match(identity=harbour, organisation=None, by=world.admin)
    client.force_login(world.am_b)
    page = client.get(reverse("portal:identity", args=[harbour.pk]), {"q": "a"})
    assert world.org_b.name in page.content.decode()
    found = page.context["found"]
    assert [o.pk for o in found] == [world.org_b.pk]
    # A confirmation step for another account is not offered either.
    chosen = client.get(
        reverse("portal:identity", args=[harbour.pk]), {"organisation": world.org_a.pk}
    )
    assert chosen.context["chosen"] is None


def test_the_service_refuses_an_am_outside_their_accounts(world, harbour):
    with pytest.raises(PermissionDenied):
        identity.identity_match(identity=harbour, organisation=world.org_a, by=world.am_a)
    with pytest.raises(PermissionDenied):
        identity.identity_not_ours(identity=harbour, by=world.am_a)
    assert _records_of(world.org_b) == (3, 3)


def test_the_policy_for_each_move(world):
    a, b = world.org_a.pk, world.org_b.pk
    assert may_decide_identity(world.am_a, current=None, to=a)
    assert may_decide_identity(world.am_a, current=a, to=None)
    assert not may_decide_identity(world.am_a, current=None, to=b)
    assert not may_decide_identity(world.am_a, current=b, to=a)
    assert not may_decide_identity(world.am_a, current=b, to=None)
    assert may_decide_identity(world.admin, current=b, to=a)
    assert not may_decide_identity(world.member_a, current=None, to=a)
    assert not may_decide_identity(world.agent, current=None, to=a)
