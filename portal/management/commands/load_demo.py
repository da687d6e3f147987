from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo.loader import demo_load, estate_load, login_banner
from portal.relationship.health import health_compute


class Command(BaseCommand):
    help = "Load the demo organisations, people and account teams (safe to run twice)."

    def handle(self, *args, **options):
        counts = demo_load()
        counts |= estate_load(settings.VAR_DIR / "demo-estate")
        # Health scores come from beat hourly in production; the demo shows them at once.
        counts["health scores"] = health_compute()["scored"]
        self.stdout.write(self.style.SUCCESS(f"Demo loaded: {counts}"))
        self.stdout.write(login_banner())
