"""The project as a whole: settings, migrations, the demo."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from accounts.models import AccountAssignment, Membership, Organisation, User
from config.env import env_bool, env_int, env_list
from portal.demo import demo_load

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
