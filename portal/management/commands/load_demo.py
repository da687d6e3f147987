from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo.loader import DEMO_PASSWORD, LOGINS, demo_load, estate_load
from portal.demo.two_factor import demo_secret
from portal.relationship.health import health_compute


class Command(BaseCommand):
    help = "Load the demo organisations, people and account teams (safe to run twice)."

    def handle(self, *args, **options):
        counts = demo_load()
        counts |= estate_load(settings.VAR_DIR / "demo-estate")
        # Health scores come from beat hourly in production; the demo shows them at once.
        counts["health scores"] = health_compute()["scored"]
        self.stdout.write(self.style.SUCCESS(f"Demo loaded: {counts}"))
        base_url = settings.PORTAL_BASE_URL.rstrip("/")
        self.stdout.write(f"\nLog in at {base_url}/ with password {DEMO_PASSWORD}")
        for role, email in LOGINS:
            self.stdout.write(f"  {role:<40} {email}")
        self.stdout.write(
            "Staff then give a code: add the demo key "
            f"{demo_secret()} to an authenticator app, or print the code of the moment with "
            "`.venv/bin/python manage.py demo_code`."
        )
