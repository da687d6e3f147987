"""The project as a whole: settings, migrations, the demo."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from accounts.models import AccountAssignment, Membership, Organisation, User
from config.env import env_bool, env_int, env_list
from portal.demo.loader import demo_load
from tickets.knowledge.models import Article

ROOT = Path(__file__).resolve().parent.parent


def run_django(settings_module: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        env={**clean, "DJANGO_SETTINGS_MODULE": settings_module, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_django("config.settings.production", {})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_secret_key_even_with_debug_on():
    # DEBUG=true lets base fall back to the public development key; production must not.
    result = run_django("config.settings.production", {"DEBUG": "true"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_apps_import_one_way():
    """accounts <- tiers <- tickets <- portal (pyproject's import-linter contracts):
    an import the wrong way, even through a chain of imports, fails here."""
    result = subprocess.run(  # noqa: S603 (our own venv's tool, no input)
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert f"{len(contracts['contracts'])} kept, 0 broken" in result.stdout


def test_production_starts_with_a_secret_key():
    result = run_django("config.settings.production", {"SECRET_KEY": "x" * 50})
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_malformed_environment_values_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "ten")
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        env_bool("X_BOOL")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        env_int("X_INT", 1)
    assert env_list("X_LIST") == ["a.example", "b.example"]


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_demo_loads_twice_without_duplicating_anything():
    demo_load()
    counts = [m.objects.count() for m in (Organisation, User, Membership, AccountAssignment)]
    demo_load()
    assert [m.objects.count() for m in (Organisation, User, Membership, AccountAssignment)] == (
        counts
    )
    assert counts[0] >= 3
    articles = Article.objects.count()
    demo_load()
    assert Article.objects.count() == articles > 0


SMOKE = """
import django
django.setup()
from django.core.management import call_command
from accounts.tests.two_factor import Client  # staff sign in with their second factor
call_command("migrate", verbosity=0)
call_command("load_demo", verbosity=0)
pages = {
    "alice@northwind.example": ["/", "/orders/", "/shipments/", "/invoices/", "/timeline/",
                                "/tickets/", "/tier/", "/accounts/members/", "/help/",
                                "/help/?q=delivery", "/help/suggest/?subject=where+is+my+deliv"],
    "amelia.hart@portal.example": ["/", "/tickets/queue/", "/tickets/insights/",
                                   "/workspace/identities/", "/help/", "/help/insights/"],
}
from accounts.models import User
from portal.models import Order
from portal.demo.loader import DEMO_PASSWORD
from portal.demo.two_factor import demo_code
for email, urls in pages.items():
    client = Client(SERVER_NAME="127.0.0.1")
    if email.endswith("@portal.example"):  # staff: the password, then the demo app's code
        login = {"username": email, "password": DEMO_PASSWORD}
        assert client.post("/accounts/login/", login).url == "/accounts/login/code/"
        assert client.post("/accounts/login/code/", {"code": demo_code()}).url == "/"
    else:
        client.force_login(User.objects.get(email=email))
    for url in urls:
        status = client.get(url).status_code
        assert status == 200, (email, url, status)
order = Order.objects.filter(organisation__customer_number="C-1001").first()
client = Client(SERVER_NAME="127.0.0.1")
client.force_login(User.objects.get(email="alice@northwind.example"))
assert client.get(f"/orders/{order.pk}/").status_code == 200
# Billing supplies a payment link for each unpaid invoice, to its own payment page.
import urllib.request
from portal.demo import legacy_api
from portal.records.models import UNPAID, Invoice
from django.conf import settings
unpaid = Invoice.objects.filter(UNPAID, organisation__customer_number="C-1001")
assert unpaid.exists()
for invoice in unpaid:
    assert invoice.payment_link.endswith(f"/billing/pay/{invoice.number}"), invoice.payment_link
assert "pay-online" in client.get(f"/invoices/{invoice.pk}/").content.decode()
assert not Invoice.objects.exclude(UNPAID).exclude(payment_url="").exists()
api = legacy_api.serve_in_thread(settings.VAR_DIR / "demo-estate")
with urllib.request.urlopen(invoice.payment_link, timeout=10) as answer:  # noqa: S310
    assert f"Pay invoice {invoice.number}" in answer.read().decode()
api.shutdown()
print("smoke ok", Order.objects.count())
"""


@pytest.mark.slow
def test_the_demo_runs_on_the_embedded_sqlite_default(tmp_path):
    """What `make run` does, on SQLite with tasks inline: every main page answers."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "DEMO_ORDER_ENTRY_DSN", "DEMO_CONTRACTS_DSN"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "PORTAL_VAR_DIR": str(tmp_path),
        "DEMO_LEGACY_API_PORT": str(port),
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SMOKE],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "smoke ok" in result.stdout
    # Quiet: the demo's mails as one line each (kept whole under var/mail/), no tracebacks.
    assert "Mail to alice@northwind.example: [T-000001]" in result.stdout
    assert "Content-Transfer-Encoding" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert any((tmp_path / "mail").iterdir())
    # The login banner comes after every mail the demo sent: the last thing make run says.
    banner = result.stdout.index("Log in at ")
    assert "Mail to" not in result.stdout[banner:]


def test_postgresql_connections_run_without_jit(db):
    # With JIT the work queue's overdue-review query took 3 s to compile and 5 ms to run.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def test_postgresql_connections_reorder_joins_of_at_most_six_tables(db):
    # A ticket's page joins 8 tables along its foreign keys: PostgreSQL took 4-9 ms to try
    # their orders and ran the one Django wrote; every page's other plans stay the same.
    with connection.cursor() as cursor:
        cursor.execute("SHOW join_collapse_limit")
        assert cursor.fetchone()[0] == "6"


PREPARED_COUNT = """
import django; django.setup()
from django.db import connection
with connection.cursor() as cursor:
    for _ in range(6):
        cursor.execute("SELECT count(*) FROM accounts_organisation WHERE id = %s", [1])
    cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                   ["%accounts_organisation%"])
    print(cursor.fetchone()[0])
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's prepared statements")
@pytest.mark.parametrize(("asked", "prepared"), [("true", "1"), ("false", "0")])
def test_prepared_statements_only_when_asked(db, asked, prepared):
    # Off by default: generic plans made the largest organisation's pages dearer.
    from tests.conftest import test_database_url

    result = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", PREPARED_COUNT],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test",
             "DATABASE_URL": test_database_url(), "DB_PREPARED_STATEMENTS": asked},
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == prepared


def test_machine_times_have_whole_seconds_and_phone_links_no_spaces():
    from datetime import UTC, datetime

    from accounts.templatetags.ui import machine_time, status_label, tel_uri

    assert machine_time(datetime(2026, 12, 2, 18, 4, 5, 123456, tzinfo=UTC)) == (
        "2026-12-02T18:04:05+00:00"
    )
    assert tel_uri("+44 (0)20 7946-0000") == "tel:+4402079460000"
    assert [status_label(v) for v in ("In_transit", "IN-TRANSIT", "delivered", "")] == [
        "In transit",
        "In transit",
        "Delivered",
        "",
    ]


SHOW_BASE_URL = "show-base-url: ; @echo $$PORTAL_BASE_URL"


def test_make_run_builds_every_absolute_link_from_the_host_it_serves_on():
    # make run HOST=... serves there; the one setting behind every emailed link follows.
    result = subprocess.run(  # noqa: S603 (our Makefile, fixed arguments)
        [shutil.which("make"), "-s", "--eval", SHOW_BASE_URL, "show-base-url",
         "HOST=portal.test:9000"],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
        env={k: v for k, v in os.environ.items() if k != "PORTAL_BASE_URL"},
    )  # fmt: skip
    assert result.stdout.strip() == "http://portal.test:9000"
