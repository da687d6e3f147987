"""`runserver`, then the demo's logins: so the login banner is the last thing `make run`
prints, after the server's own lines (issue 28)."""

from django.core.management import get_commands, load_command_class

from portal.demo.loader import login_banner

# Whichever runserver the installed apps provide (WhiteNoise's, without static serving).
Runserver = type(load_command_class(get_commands()["runserver"], "runserver"))


class Command(Runserver):
    help = "Serve the portal for development (runserver), then print the demo's logins."

    def on_bind(self, server_port):
        super().on_bind(server_port)
        self.stdout.write(login_banner())
