"""team_roles_of: a staff member's current roles on the organisations asked about, by SQL
built once per process, a page of ids a query; the same as the ORM gives afresh."""

import pytest
from django.utils import timezone

from accounts import selectors
from accounts.choices import TeamRole
from accounts.models import AccountAssignment
from accounts.tests.factories import AssignmentFactory, OrganisationFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _expected(user, ids) -> dict[int, list[str]]:
    current = AccountAssignment.objects.filter(user=user, ended_at__isnull=True)
    roles: dict[int, list[str]] = {}
    for org_id, role in (
        current.filter(organisation_id__in=ids)
        .order_by("organisation_id", "role")
        .values_list("organisation_id", "role")
    ):
        roles.setdefault(org_id, []).append(TeamRole(role).label)
    return roles


@pytest.fixture
def am_with_many_accounts():
    am, other = StaffFactory(), StaffFactory()
    organisations = OrganisationFactory.create_batch(selectors.ROLES_AT_ONCE + 7)
    for n, organisation in enumerate(organisations):
        AssignmentFactory(user=am if n % 5 else other, organisation=organisation)
        if n % 3 == 0:
            AssignmentFactory(user=am, organisation=organisation, role=TeamRole.EXECUTIVE_SPONSOR)
    ended = AssignmentFactory(user=am, organisation=organisations[1], role=TeamRole.BACKUP_AM)
    ended.ended_at = timezone.now()
    ended.save()
    return am, [o.pk for o in organisations]


def test_roles_on_a_page_are_the_orm_s(am_with_many_accounts):
    am, ids = am_with_many_accounts
    assert selectors.team_roles_of(user=am, organisation_ids=ids[:50]) == _expected(am, ids[:50])


def test_roles_on_more_ids_than_one_query_takes(am_with_many_accounts, django_assert_num_queries):
    am, ids = am_with_many_accounts
    with django_assert_num_queries(2):
        found = selectors.team_roles_of(user=am, organisation_ids=ids)
    assert found == _expected(am, ids)
    assert any(len(labels) == 2 for labels in found.values())


def test_no_ids_no_roles_and_all_roles_without_ids(am_with_many_accounts):
    am, ids = am_with_many_accounts
    assert selectors.team_roles_of(user=am, organisation_ids=[]) == {}
    assert selectors.team_roles_of(user=am) == _expected(am, ids)
