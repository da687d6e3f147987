"""Data versions kept by the database (accounts/platform/data_versions.py): the table, its
sequence and where the installed triggers' fingerprint is kept. The triggers themselves are
(re)made after every migrate, from the model registry (accounts.apps)."""

from django.db import migrations

POSTGRESQL = [
    "CREATE SEQUENCE page_version_seq",
    "CREATE TABLE page_version (scope bigint PRIMARY KEY, version bigint NOT NULL)",
    "CREATE INDEX page_version_version ON page_version (version)",
    "CREATE TABLE page_version_installed (fingerprint varchar(32) NOT NULL)",
]
SQLITE = [
    "CREATE TABLE page_version (scope integer PRIMARY KEY, version integer NOT NULL)",
    "CREATE INDEX page_version_version ON page_version (version)",
    "CREATE TABLE page_version_installed (fingerprint varchar(32) NOT NULL)",
]
DROP = [
    "DROP TABLE page_version_installed",
    "DROP TABLE page_version",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in POSTGRESQL if vendor == "postgresql" else SQLITE:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):
    from accounts.platform import data_versions

    with schema_editor.connection.cursor() as cursor:
        triggers = data_versions.installed_triggers(cursor, schema_editor.connection.vendor)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for name in triggers:  # every pv_ trigger's function, with its triggers
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name.rsplit('_', 1)[0]}() CASCADE")
        schema_editor.execute("DROP SEQUENCE page_version_seq CASCADE")
    else:
        for name in triggers:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0015_sso_domains")]

    operations = [migrations.RunPython(forwards, backwards)]
