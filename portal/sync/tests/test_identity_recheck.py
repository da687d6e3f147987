"""`manage.py identity_recheck`: automatic matches made by an older, looser rule are judged
again; those the current rule does not support go back to the queue, records hidden."""

from io import StringIO

import pytest
from django.core.management import call_command

from accounts.choices import AuditAction
from accounts.models import AuditEvent, Organisation
from portal.records.models import Order
from portal.sync.choices import IdentityStatus, MatchMethod
from portal.sync.models import CustomerIdentity
from portal.tests.records import add_orders


@pytest.fixture
def old_matches(world):
    """What the old engine left: A ("Alpha Clinic", York) matched by name alone to a
    stranger one letter off, and by name and city to its own customer; a person's match
    and a hard key's, which are not re-judged."""
    Organisation.objects.filter(pk=world.org_a.pk).update(city="York")
    add_orders(world.org_a, 2)  # system "oe", customer "C"
    made = {}
    for key, name, city, method in [
        ("C", "Alpha Clinics", "", MatchMethod.NAME),  # a plural, nothing else: a guess
        ("good", "ALPHA CLINIC LTD", "York", MatchMethod.NAME),
        ("hand", "Alfa Clinik", "", MatchMethod.HAND),
        ("number", "Zeta", "", MatchMethod.NUMBER),
    ]:
        made[key] = CustomerIdentity.objects.create(
            system="oe", external_id=key, external_name=name, city=city, method=method,
            status=IdentityStatus.MATCHED, organisation=world.org_a, evidence=["name 97 %"],
        )  # fmt: skip
    return made


def test_unsupported_automatic_matches_go_back_to_the_queue_hidden_and_audited(world, old_matches):
    out = StringIO()
    call_command("identity_recheck", stdout=out)

    guessed = CustomerIdentity.objects.get(pk=old_matches["C"].pk)
    assert (guessed.status, guessed.organisation) == (IdentityStatus.WAITING, None)
    assert guessed.candidates[0]["organisation"] == world.org_a.pk  # still proposed
    assert not Order.objects.visible_to(world.member_a).exists()  # its records hidden
    event = AuditEvent.objects.get(action=AuditAction.IDENTITY_UNMATCHED)
    assert event.detail["from"] == "Alpha Clinic"
    assert event.target.startswith("oe:C ")
    for kept in ("good", "hand", "number"):
        assert CustomerIdentity.objects.get(pk=old_matches[kept].pk).organisation == world.org_a
    printed = out.getvalue()
    assert "oe:C Alpha Clinics: was Alpha Clinic, went back to the review queue" in printed
    assert "1 automatic match(es) went back" in printed


def test_a_dry_run_changes_nothing(world, old_matches):
    out = StringIO()
    call_command("identity_recheck", "--dry-run", stdout=out)
    assert "would go back" in out.getvalue()
    assert CustomerIdentity.objects.get(pk=old_matches["C"].pk).organisation == world.org_a
    assert Order.objects.visible_to(world.member_a).count() == 2
    assert not AuditEvent.objects.filter(action=AuditAction.IDENTITY_UNMATCHED).exists()
