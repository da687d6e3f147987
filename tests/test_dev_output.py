"""What `make run` prints: mail subjects (mail whole in files) and refusals in one line."""

import logging
import sys

from django.conf import settings
from django.core.mail import EmailMessage

from config.logs import ExpectedRefusalFilter
from config.mail_backends import SubjectsToConsoleBackend


def test_mail_is_kept_whole_in_a_file_and_its_subject_printed(tmp_path, capsys):
    backend = SubjectsToConsoleBackend(file_path=str(tmp_path))
    message = EmailMessage("[T-000001] Parcel missing", "Where is it?\n", to=["a@x.test"])
    assert backend.send_messages([message]) == 1

    printed = capsys.readouterr().out
    assert printed.count("\n") == 1
    assert "Mail to a@x.test: [T-000001] Parcel missing" in printed
    (kept,) = tmp_path.iterdir()
    assert "Where is it?" in kept.read_text()
    assert "Where is it?" not in printed


def test_the_development_default_is_the_quiet_backend():
    # Tests swap in locmem; the embedded default (no EMAIL_HOST) is what make run uses.
    from config.settings import base

    assert base.EMAIL_BACKEND == "config.mail_backends.SubjectsToConsoleBackend"


def _formatted(status_code: int) -> str:
    try:
        raise PermissionError("not yours")
    except PermissionError:
        record = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x/",),
            sys.exc_info(),
        )  # fmt: skip
    record.status_code = status_code
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(ExpectedRefusalFilter())
    assert handler.filter(record)
    return handler.format(record)


def test_an_expected_refusal_logs_one_line():
    assert _formatted(403) == "WARNING Forbidden: /x/"
    assert _formatted(404) == "WARNING Forbidden: /x/"


def test_a_server_error_keeps_its_traceback():
    assert "Traceback" in _formatted(500)


def test_the_console_handler_filters_refusals():
    console = settings.LOGGING["handlers"]["console"]
    filters = [settings.LOGGING["filters"][name]["()"] for name in console["filters"]]
    assert filters == ["config.logs.ExpectedRefusalFilter"]


def test_make_run_ends_with_the_login_banner():
    """make run serves with serve_demo: runserver's own lines, then the demo's logins."""
    from io import StringIO
    from pathlib import Path

    from portal.demo.loader import LOGINS, login_banner
    from portal.management.commands.serve_demo import Command

    out = StringIO()
    command = Command(stdout=out)
    command.addr, command.port, command.protocol = "127.0.0.1", 8000, "http"
    command._raw_ipv6 = False
    command.on_bind(8000)
    printed = out.getvalue().rstrip()
    assert "Starting development server at http://127.0.0.1:8000/" in printed
    assert printed.endswith(login_banner().rstrip())
    assert printed.rstrip().splitlines()[-2].endswith(LOGINS[-1][1])  # the last login, then 2FA
    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "manage.py serve_demo $(HOST)" in run
    assert "runserver" not in run
