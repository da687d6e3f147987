from django.conf import settings
from django.core.management.base import BaseCommand

from portal.demo.legacy_api import DEFAULT_PORT, serve


class Command(BaseCommand):
    help = "Serve the demo's old help desk and CRM APIs on 127.0.0.1 (for `make run`)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=DEFAULT_PORT)

    def handle(self, *args, port, **options):
        server = serve(settings.VAR_DIR / "demo-estate", port)
        self.stdout.write(f"Demo legacy APIs on http://127.0.0.1:{port}/")
        server.serve_forever()
