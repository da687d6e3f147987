"""team_roles_column: a staff member's current roles on each organisation of a list, read
as a column of its rows; the same as their current assignments say."""

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.choices import TeamRole
from accounts.models import AccountAssignment, Organisation
from accounts.tests.factories import AssignmentFactory, OrganisationFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _expected(user, ids) -> dict[int, list[str]]:
    current = AccountAssignment.objects.filter(user=user, ended_at__isnull=True)
    roles: dict[int, list[str]] = {pk: [] for pk in ids}
    for org_id, role in (
        current.filter(organisation_id__in=ids)
        .order_by("organisation_id", "role")
        .values_list("organisation_id", "role")
    ):
        roles[org_id].append(TeamRole(role).label)
    return roles


def _read(user, ids) -> dict[int, list[str]]:
    rows = Organisation.objects.filter(pk__in=ids).annotate(
        bits=selectors.team_roles_column(user=user)
    )
    return {org.pk: selectors.team_role_labels(org.bits) for org in rows}


@pytest.fixture
def am_with_accounts():
    am, other = StaffFactory(), StaffFactory()
    organisations = OrganisationFactory.create_batch(13)  # the 13th: three roles
    for n, organisation in enumerate(organisations):
        AssignmentFactory(user=am if n % 5 else other, organisation=organisation)
        if n % 3 == 0:
            AssignmentFactory(user=am, organisation=organisation, role=TeamRole.EXECUTIVE_SPONSOR)
        if n % 4 == 0:
            AssignmentFactory(user=am, organisation=organisation, role=TeamRole.COVER_AM)
    ended = AssignmentFactory(user=am, organisation=organisations[1], role=TeamRole.BACKUP_AM)
    ended.ended_at = timezone.now()
    ended.save()
    return am, other, [o.pk for o in organisations]


def test_each_rows_roles_are_the_current_assignments(am_with_accounts):
    am, other, ids = am_with_accounts
    found = _read(am, ids)
    assert found == _expected(am, ids)
    assert any(len(labels) == 3 for labels in found.values())
    assert any(labels == [] for labels in found.values())  # another AM's account
    assert _read(other, ids) == _expected(other, ids)


def test_every_set_of_roles_reads_back_in_the_order_of_their_values():
    from itertools import combinations

    roles = sorted(TeamRole.values)
    for size in range(len(roles) + 1):
        for chosen in combinations(roles, size):
            bits = sum(selectors.TEAM_ROLE_BITS[role] for role in chosen)
            assert selectors.team_role_labels(bits) == [TeamRole(r).label for r in chosen]
