import datetime

import django.db.models.deletion
from django.db import migrations, models


def install(apps, schema_editor):
    from portal.records import tallies

    tallies.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from portal.records import tallies

    tallies.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("portal", "0016_faults_run_task_id"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("record", models.CharField(max_length=10)),
                ("key", models.CharField(blank=True, max_length=30)),
                ("due_on", models.DateField(default=datetime.date(9999, 12, 31))),
                ("count", models.BigIntegerField(default=0)),
                ("amount", models.DecimalField(decimal_places=2, default=0, max_digits=20)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="accounts.organisation",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("organisation", "record", "key", "due_on"), name="record_tally_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
