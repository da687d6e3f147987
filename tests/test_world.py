"""The `world` fixture (conftest.py): built once per module and kept, each test in a
savepoint with its own copy, so what one test does to it is gone before the next."""

import pytest

from accounts.models import Organisation
from accounts.tests.factories import OrganisationFactory

# The module's tests in one process, one after the other (pytest-xdist's loadgroup).
pytestmark = pytest.mark.xdist_group("kept-world")

built = []


@pytest.mark.parametrize("turn", range(3))
def test_each_test_gets_the_kept_world_as_it_was_built(world, turn):
    built.append(world.org_a.pk)
    assert len(set(built)) == 1  # the same rows: built once, not once per test
    assert world.org_a.name == Organisation.objects.get(pk=world.org_a.pk).name == "Alpha Clinic"
    assert Organisation.objects.count() == 2
    assert not hasattr(world, "added")
    # What this test does, to the rows or to its copy, the next one must not see.
    world.org_a.name = f"Renamed {turn}"
    world.org_a.save()
    OrganisationFactory()
    world.added = turn


def test_a_test_that_commits_builds_its_own_world(transactional_db, world):
    assert world.org_a.pk not in built
    assert Organisation.objects.count() == 2
