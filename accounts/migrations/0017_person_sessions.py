"""Sessions kept with the person they sign in and the authenticator they were verified
with (accounts.models.Session): the live sessions of django_session are copied over, so
nobody is signed out. Their person and device are filled in at each session's next save
(within SESSION_REFRESH_SECONDS of use); until then a request reads them apart, as before."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

COPY = """
    INSERT INTO accounts_session (session_key, session_data, expire_date)
    SELECT session_key, session_data, expire_date FROM django_session
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_page_versions"),
        ("sessions", "0001_initial"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="Session",
            fields=[
                (
                    "session_key",
                    models.CharField(
                        max_length=40, primary_key=True, serialize=False, verbose_name="session key"
                    ),
                ),
                ("session_data", models.TextField(verbose_name="session data")),
                ("expire_date", models.DateTimeField(db_index=True, verbose_name="expire date")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "totp_device",
                    models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="otp_totp.totpdevice",
                    ),
                ),
            ],
            options={
                "verbose_name": "session",
                "verbose_name_plural": "sessions",
                "db_table": "accounts_session",
                "abstract": False,
            },
        ),
        migrations.RunSQL(COPY, migrations.RunSQL.noop),
    ]
