"""Shared fixtures: two organisations and the people around them.

Like healthchecks' alice/bob/charlie, each user has one clear role:

- member_a, customer_admin_a: customers of organisation A
- member_b, customer_admin_b: customers of organisation B
- am_a: primary account manager of A; am_b: of B
- agent: a support agent in billing; admin: operations
"""

import copy
import itertools
import re
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connections, transaction
from django.utils import timezone
from pytest_django.plugin import validate_django_db

from accounts.choices import Department, MembershipRole, TeamRole, UserKind
from accounts.models import Organisation, User
from accounts.tests.factories import (
    PASSWORD,
    AssignmentFactory,
    MembershipFactory,
    OrganisationFactory,
    StaffFactory,
    UserFactory,
)
from tiers.choices import Clock
from tiers.models import ServiceTier, SlaTarget, TierAssignment

__all__ = ["PASSWORD", "World"]


@dataclass
class World:
    org_a: Organisation
    org_b: Organisation
    member_a: User
    customer_admin_a: User
    member_b: User
    customer_admin_b: User
    am_a: User
    am_b: User
    agent: User
    admin: User
    tier: ServiceTier


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings
):
    """pytest-django's, except that on PostgreSQL each test process's database is a copy of
    one migrated template (tests/database.py) instead of a migration of its own."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from tests import database

    cloned = connection.vendor == "postgresql"
    with django_db_blocker.unblock():
        if cloned:
            database.create_from_template()
        else:
            config = setup_databases(verbosity=request.config.option.verbose, interactive=False)
    yield
    with django_db_blocker.unblock():
        if cloned:
            database.drop()
        else:
            teardown_databases(config, verbosity=request.config.option.verbose)


# A module's own marks, as its `pytestmark = ...` line (or bracketed list) names them.
MODULE_MARKS = re.compile(r"^pytestmark\s*=\s*(\[[^\]]*\]|.*)$", re.MULTILINE)
MARK_NAME = re.compile(r"pytest\.mark\.(\w+)")
EXPRESSION_WORDS = re.compile(r"[A-Za-z_]\w*")


def pytest_ignore_collect(collection_path, config):
    """A test module whose own marks leave every one of its tests out of the `-m` expression
    (`make test-fast`'s "not browser and not slow" and a module marked `slow`) is not even
    imported: importing the browser and fuzz modules (Playwright, the schema's generated
    cases) costs each test process seconds for tests it would deselect."""
    expression = config.getoption("markexpr", "")
    if (
        not expression
        or collection_path.suffix != ".py"
        or not collection_path.name.startswith("test_")
    ):
        return None
    found = MODULE_MARKS.search(collection_path.read_text(encoding="utf-8"))
    marks = set(MARK_NAME.findall(found.group(1))) if found else set()
    return (marks and _never_selected(expression, marks)) or None


def _never_selected(expression: str, marks: set[str]) -> bool:
    """The expression is false for a test with these marks, whatever other marks it has."""
    from _pytest.mark.expression import Expression

    compiled = Expression.compile(expression)
    others = sorted(set(EXPRESSION_WORDS.findall(expression)) - marks - {"and", "or", "not"})
    for present in itertools.product((False, True), repeat=len(others)):
        names = marks | {name for name, on in zip(others, present, strict=True) if on}
        if compiled.evaluate(_has_mark_in(names)):
            return False
    return True


def _has_mark_in(names: set[str]):
    return lambda name, /, **kwargs: name in names


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's, which reads the groups
def pytest_collection_modifyitems(config, items):
    """The tests that share a module-scoped fixture (a world measured at two sizes, the
    access matrix's world, a process started with production's settings) run in one process
    under `--dist loadgroup`: spread over the processes, each would build it again."""
    for item in items:
        definitions = getattr(item, "_fixtureinfo", None)
        for name in getattr(item, "fixturenames", ()):
            defined = definitions.name2fixturedefs.get(name) if definitions else None
            if defined and defined[-1].scope == "module":
                item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}:{name}"))


# Written by migrate alone (its post_migrate receivers), never by a test: the template
# has them whole.
MIGRATE_MADE_TABLES = {"django_content_type", "auth_permission"}


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_what_migrate_made():
    """After a test that commits, Django empties every table and runs post_migrate again to
    make the content types and permissions anew (a second or more per test, most of it
    making permissions). Here the emptying leaves those two tables as they were, so nothing
    needs making again; everything a test can write is emptied as before."""
    from django.test import TransactionTestCase

    flush_all = TransactionTestCase._fixture_teardown

    def flush(test_case) -> None:
        if test_case.available_apps is not None or test_case.serialized_rollback:
            return flush_all(test_case)
        for alias in test_case._databases_names(include_mirrors=False):
            _flush_all_but_what_migrate_made(connections[alias])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush)
        yield


def _flush_all_but_what_migrate_made(connection) -> None:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    kept = [table for table in tables if table not in MIGRATE_MADE_TABLES]
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), kept))


@pytest.fixture
def client():
    """pytest-django's client, whose force_login also gives the second factor where the
    person must (staff) or can (an authenticator) give one, as a real sign-in would.

    Two-factor enforcement stays on in tests: `client.force_login_password_only(user)` is a
    session that only passed the password (accounts/tests/two_factor.py).
    """
    from accounts.tests.two_factor import Client

    return Client()


@pytest.fixture
def world(db, _world_kept) -> World:
    """The world of the module's tests: built once and kept (KeptWorld), a copy per test;
    a transactional test (one that commits: a worker, a server) builds its own."""
    if _world_kept.world is None:
        return world_create()
    # Ids repeat from test to test now: what an earlier test kept in the cache under them
    # (page content, its versions, rate-limit counts) must not be found by this one.
    cache.clear()
    return copy.deepcopy(_world_kept.world)


class KeptWorld:
    """A world built once and kept, in a transaction left open, for the tests that follow
    it in the same module, as Django's TestCase.setUpTestData does for a class.

    Each test runs in a savepoint inside that transaction (pytest-django's `db`) and gets a
    deep copy of the instances, so what a test writes or changes on them is gone before the
    next one, as if each had built its own. Building a world costs far more than a test of
    a page or a service.
    """

    def __init__(self):
        self.transaction = None
        self.world = None

    def open(self, blocker) -> None:
        if self.transaction is not None:
            return
        with blocker.unblock():
            self.transaction = transaction.atomic()
            self.transaction.__enter__()
            try:
                self.world = world_create()
            except BaseException:
                self.close(blocker)
                raise

    def close(self, blocker) -> None:
        if self.transaction is None:
            return
        kept, self.transaction, self.world = self.transaction, None, None
        with blocker.unblock():
            transaction.set_rollback(True)
            kept.__exit__(None, None, None)


KEPT_WORLD = KeptWorld()
NEXT_ITEM = pytest.StashKey["pytest.Item | None"]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """Tells the kept world which test comes next (it stays open only for one of its own)."""
    item.stash[NEXT_ITEM] = nextitem


def _shares_world(item) -> bool:
    """The test takes `world` and runs in a transaction rolled back after it (not one that
    commits for a worker or a server to see)."""
    fixtures = set(getattr(item, "fixturenames", ()))
    marker = item.get_closest_marker("django_db")
    transactional, reset_sequences, *_ = validate_django_db(marker) if marker else (0, 0)
    return (
        "world" in fixtures
        and not (transactional or reset_sequences)
        and not fixtures & {"transactional_db", "live_server", "django_db_reset_sequences"}
    )


@pytest.fixture
def _world_kept(request, django_db_setup, django_db_blocker) -> KeptWorld:
    """Opens the kept world before the test's own transaction when the test shares it,
    closes it otherwise; after the test, closes it unless the next test is another of the
    module's that shares it (another module's fixtures may open transactions of their own)."""
    item = request.node
    if _shares_world(item):
        KEPT_WORLD.open(django_db_blocker)
    else:
        KEPT_WORLD.close(django_db_blocker)
    yield KEPT_WORLD
    following = item.stash.get(NEXT_ITEM, None)
    same_module = getattr(following, "module", None) is getattr(item, "module", None)
    if following is None or not same_module or not _shares_world(following):
        KEPT_WORLD.close(django_db_blocker)


@pytest.fixture
def _django_db_helper(_world_kept, _django_db_helper):
    """pytest-django's test transaction, begun after the kept world's (`_world_kept`)."""
    return _django_db_helper


def world_create() -> World:
    """The two organisations and their people; also built once per module where a module
    shares one world (tests/test_access_matrix.py)."""
    org_a = OrganisationFactory(
        name="Alpha Clinic", customer_number="C-A001", time_zone="Europe/London"
    )
    org_b = OrganisationFactory(
        name="Bravo Hospital", customer_number="C-B001", time_zone="Europe/London"
    )
    tier = business_hours_tier()
    for org in (org_a, org_b):
        TierAssignment.objects.create(organisation=org, tier=tier, started_at=timezone.now())

    def customer(email, org, role=MembershipRole.MEMBER):
        user = UserFactory(email=email, full_name=email.split("@")[0].replace(".", " ").title())
        MembershipFactory(user=user, organisation=org, role=role)
        return user

    am_a = StaffFactory(email="am.a@portal.test", full_name="Anna Manager")
    am_b = StaffFactory(email="am.b@portal.test", full_name="Bert Manager")
    AssignmentFactory(organisation=org_a, user=am_a, role=TeamRole.PRIMARY_AM)
    AssignmentFactory(organisation=org_b, user=am_b, role=TeamRole.PRIMARY_AM)
    return World(
        org_a=org_a,
        org_b=org_b,
        member_a=customer("member.a@alpha.test", org_a),
        customer_admin_a=customer("admin.a@alpha.test", org_a, MembershipRole.ADMIN),
        member_b=customer("member.b@bravo.test", org_b),
        customer_admin_b=customer("admin.b@bravo.test", org_b, MembershipRole.ADMIN),
        am_a=am_a,
        am_b=am_b,
        agent=UserFactory(
            email="agent@portal.test", kind=UserKind.SUPPORT_AGENT, department=Department.BILLING
        ),
        admin=UserFactory(
            email="admin@portal.test", kind=UserKind.ADMIN, is_staff=True, is_superuser=True
        ),
        tier=tier,
    )


def business_hours_tier(**overrides) -> ServiceTier:
    """Mon-Fri 09:00-17:00; normal tickets: answer in 1 h, resolve in 8 business hours."""
    fields = {"name": "Standard", "rank": 1, "annual_fee": 0, "clock": Clock.BUSINESS_HOURS}
    tier = ServiceTier.objects.create(**{**fields, **overrides})
    for priority, first, resolution in [
        ("low", 240, 2400),
        ("normal", 60, 480),
        ("high", 30, 240),
        ("urgent", 15, 120),
    ]:
        SlaTarget.objects.create(
            tier=tier,
            priority=priority,
            first_response_minutes=first,
            resolution_minutes=resolution,
        )
    return tier


@pytest.fixture
def smtp_server():
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it (tests/smtp.py)."""
    from tests.smtp import LocalSmtpServer

    server = LocalSmtpServer()
    server.start()
    try:
        with server.as_email_backend():
            yield server
    finally:
        server.stop()


@pytest.fixture
def celery_retries_inline():
    """`task.apply()` runs Celery's retries inline, as a worker would, instead of raising."""
    from config.celery import app

    propagates = app.conf.task_eager_propagates
    app.conf.update(task_eager_propagates=False, CELERY_TASK_EAGER_PROPAGATES=False)
    try:
        yield
    finally:
        app.conf.update(task_eager_propagates=propagates, CELERY_TASK_EAGER_PROPAGATES=propagates)
