"""SQLite's tally triggers again: a record taken off now only changes the tally row that
counted it, never adds one (portal/records/tallies.py). PostgreSQL's are unchanged."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from portal.records import tallies

    if schema_editor.connection.vendor == "sqlite":
        tallies.uninstall(schema_editor.connection)
        tallies.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("portal", "0019_am_tasks")]

    operations = [migrations.RunPython(reinstall, reinstall)]
