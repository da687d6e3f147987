from django.core.management.base import BaseCommand

from portal.demo.two_factor import demo_code, demo_secret, seconds_left


class Command(BaseCommand):
    help = (
        "Print the code the demo staff's authenticator shows now (the demo's published key; "
        "see portal/demo/two_factor.py)."
    )

    def handle(self, *args, **options):
        self.stdout.write(
            f"{demo_code()}  (good for {seconds_left()} s more; once per person; "
            f"key {demo_secret()})"
        )
