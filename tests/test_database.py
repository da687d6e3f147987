"""The test database itself (tests/database.py)."""

import pytest
from django.db import connection


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
