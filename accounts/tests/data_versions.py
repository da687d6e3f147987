"""Reading and renewing data versions in tests (accounts.platform.data_versions)."""

from django.db import connection

from accounts.platform import data_versions

TABLE = data_versions.TABLE


def versions() -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT scope, version FROM {TABLE}")  # noqa: S608
        return dict(cursor.fetchall())


def renewed(before: dict[int, int]) -> set[int]:
    """The scopes whose version changed (or appeared) since `before`."""
    return {scope for scope, version in versions().items() if before.get(scope) != version}


def renew(*scopes: int) -> None:
    """Make what shows these scopes out of date, as a write to their rows would."""
    draw = (
        f"nextval('{data_versions.SEQUENCE}')"
        if connection.vendor == "postgresql"
        else data_versions.SQLITE_NEXT
    )
    with connection.cursor() as cursor:
        for scope in scopes:
            cursor.execute(
                f"INSERT INTO {TABLE} (scope, version) VALUES (%s, {draw}) "  # noqa: S608
                f"ON CONFLICT (scope) DO UPDATE SET version = excluded.version",
                [scope],
            )
