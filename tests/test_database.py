"""The test database itself (tests/database.py)."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounts.models import Organisation
from accounts.tests.factories import OrganisationFactory


@pytest.mark.django_db
def test_no_table_of_the_test_database_is_analysed_by_autovacuum_while_tests_run():
    if connection.vendor != "postgresql":
        pytest.skip("autovacuum is PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = current_schema()::regnamespace "
            "AND NOT coalesce('autovacuum_enabled=off' = ANY(reloptions), false)"
        )
        analysed = [name for (name,) in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM pg_class WHERE relname = 'tickets_ticket'")
        (tickets,) = cursor.fetchone()
    assert tickets == 1
    assert analysed == []


# A test that commits is followed by an emptying of the database (conftest.py): the two
# tests below run in one process, the second after the first (pytest-django runs the tests
# that use no database after those that commit).
SEEN_BEFORE_THE_FLUSH = {}


@pytest.mark.xdist_group("flush")
@pytest.mark.django_db(transaction=True)
def test_a_test_that_commits_writes_rows():
    OrganisationFactory(name="Committed Clinic")
    SEEN_BEFORE_THE_FLUSH["content types"] = sorted(ContentType.objects.values_list("pk", "model"))
    SEEN_BEFORE_THE_FLUSH["permissions"] = sorted(Permission.objects.values_list("pk", "codename"))


@pytest.mark.xdist_group("flush")
def test_after_it_its_rows_are_gone_and_what_migrate_made_is_as_it_was(django_db_blocker):
    assert SEEN_BEFORE_THE_FLUSH, "test_a_test_that_commits_writes_rows runs first"
    with django_db_blocker.unblock():
        assert not Organisation.objects.filter(name="Committed Clinic").exists()
        content_types = sorted(ContentType.objects.values_list("pk", "model"))
        permissions = sorted(Permission.objects.values_list("pk", "codename"))
    assert content_types == SEEN_BEFORE_THE_FLUSH["content types"]
    assert permissions == SEEN_BEFORE_THE_FLUSH["permissions"]
    assert "organisation" in {model for _, model in content_types}
