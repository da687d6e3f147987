"""PostgreSQL's tally triggers again: records taken off now only change the tally rows
that counted them, never add one (portal/records/tallies.py), as SQLite's do since 0020.
Deleting an organisation could otherwise leave a negative tally of its records behind."""

from django.db import migrations


def reinstall(apps, schema_editor):
    from portal.records import tallies

    if schema_editor.connection.vendor == "postgresql":
        tallies.uninstall(schema_editor.connection)
        tallies.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("portal", "0020_sqlite_tally_discounts")]

    operations = [migrations.RunPython(reinstall, reinstall)]
