"""The demo estate: a few organisations, their people and their account teams.

Loading twice changes nothing: every row is found by its natural key first.
"""

import os
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services as account_services
from accounts.choices import Department, LifecycleStage, MembershipRole, TeamRole, UserKind
from accounts.models import Organisation, User
from accounts.platform import two_factor
from portal.demo import estate, knowledge, legacy_api
from portal.demo.two_factor import DEMO_KEY, DEVICE_NAME, demo_secret
from portal.relationship import services as relationship_services
from portal.relationship.choices import EngagementKind, EngagementStatus
from portal.relationship.models import Engagement
from tickets import services as ticket_services
from tickets.inbound import email_receive
from tickets.models import Ticket
from tiers import services as tier_services
from tiers.choices import Clock
from tiers.models import ServiceTier, SlaTarget

DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 - printed by `make run` on purpose

ACTIVE, RENEWAL, ONBOARDING = (
    LifecycleStage.ACTIVE,
    LifecycleStage.RENEWAL,
    LifecycleStage.ONBOARDING,
)
# Where each is: what order entry and billing say too, the evidence their names need.
CITIES = {"C-1001": "York", "C-1002": "London", "C-1003": "Dublin", "C-1004": "Plymouth"}
ORGANISATIONS = [
    ("C-1001", "Northwind Family Clinic", ACTIVE, date(2027, 3, 31), "Europe/London"),
    ("C-1002", "St Mary's Hospital", RENEWAL, date(2027, 1, 15), "Europe/London"),
    ("C-1003", "Riverside Medical Group", ONBOARDING, date(2027, 9, 1), "Europe/Dublin"),
    ("C-1004", "Harbour Paediatrics", ACTIVE, date(2027, 6, 30), "Europe/London"),
]

STAFF = [
    ("admin@portal.example", "Ada Admin", UserKind.ADMIN, "", "+44 20 7946 0000"),
    ("amelia.hart@portal.example", "Amelia Hart", UserKind.ACCOUNT_MANAGER, "", "+44 20 7946 0101"),
    ("ben.okafor@portal.example", "Ben Okafor", UserKind.ACCOUNT_MANAGER, "", "+44 20 7946 0102"),
    ("eva.lindqvist@portal.example", "Eva Lindqvist", UserKind.EXECUTIVE, "", "+44 20 7946 0199"),
    ("sam.patel@portal.example", "Sam Patel", UserKind.SUPPORT_AGENT, Department.BILLING, ""),
]

CUSTOMERS = [
    ("alice@northwind.example", "Alice Moreau", [("C-1001", MembershipRole.ADMIN)]),
    ("bob@northwind.example", "Bob Tanaka", [("C-1001", MembershipRole.MEMBER)]),
    ("carol@stmarys.example", "Carol Nguyen", [("C-1002", MembershipRole.ADMIN)]),
    (
        "dev@riverside.example",
        "Dev Sharma",
        [("C-1003", MembershipRole.ADMIN), ("C-1001", MembershipRole.MEMBER)],
    ),
    ("hana@harbour.example", "Hana Kowalski", [("C-1004", MembershipRole.ADMIN)]),
]

TEAMS = {
    "C-1001": {
        TeamRole.PRIMARY_AM: "amelia.hart@portal.example",
        TeamRole.BACKUP_AM: "ben.okafor@portal.example",
        TeamRole.EXECUTIVE_SPONSOR: "eva.lindqvist@portal.example",
    },
    "C-1002": {
        TeamRole.PRIMARY_AM: "amelia.hart@portal.example",
        TeamRole.BACKUP_AM: "ben.okafor@portal.example",
    },
    "C-1003": {TeamRole.PRIMARY_AM: "ben.okafor@portal.example"},
    "C-1004": {TeamRole.PRIMARY_AM: "ben.okafor@portal.example"},
}

LOGINS = [
    ("customer (customer admin of Northwind)", "alice@northwind.example"),
    ("customer in two organisations", "dev@riverside.example"),
    ("account manager", "amelia.hart@portal.example"),
    ("support agent (billing)", "sam.patel@portal.example"),
    ("admin (also /admin/)", "admin@portal.example"),
]


def login_banner() -> str:
    """Where to log in and as whom: what `make run` prints last (load_demo, serve_demo)."""
    lines = [f"\nLog in at {settings.PORTAL_BASE_URL.rstrip('/')}/ with password {DEMO_PASSWORD}"]
    lines += [f"  {role:<40} {email}" for role, email in LOGINS]
    lines.append(
        f"Staff then give a code: add the demo key {demo_secret()} to an authenticator app, "
        "or print the code of the moment with `.venv/bin/python manage.py demo_code`."
    )
    return "\n".join(lines)


def _user(email: str, full_name: str, **fields) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = account_services.user_create(
            email=email, full_name=full_name, password=DEMO_PASSWORD, **fields
        )
    return user


def _demo_authenticator(user: User) -> None:
    """Staff sign in with a second factor: in the demo, an app holding the published key."""
    if not two_factor.has_authenticator(user):
        TOTPDevice.objects.create(user=user, name=DEVICE_NAME, key=DEMO_KEY.hex(), confirmed=True)


TIERS = [
    {
        "name": "Essential",
        "rank": 1,
        "tagline": "Everything you need to order with confidence.",
        "annual_fee": Decimal("0"),
        "list_price_discount_percent": Decimal("0"),
        "perks": "One portal for orders, deliveries and invoices\n"
        "Named account manager\nSupport on working days",
        "clock": Clock.BUSINESS_HOURS,
        "health_check_every_days": 365,
        "targets": {
            "low": (960, 7200),
            "normal": (480, 4800),
            "high": (240, 2400),
            "urgent": (120, 960),
        },
    },
    {
        "name": "Professional",
        "rank": 2,
        "tagline": "Faster answers and a yearly plan with your account manager.",
        "annual_fee": Decimal("4800"),
        "list_price_discount_percent": Decimal("5"),
        "perks": "Everything in Essential\n5 % off list prices\nBackup account manager\n"
        "Quarterly business reviews\nPriority routing of urgent tickets",
        "clock": Clock.BUSINESS_HOURS,
        "review_every_days": 90,
        "health_check_every_days": 180,
        "value_top_percent": 20,  # tier fit: suits the top 20 % of customers by revenue
        "targets": {
            "low": (480, 4800),
            "normal": (240, 2400),
            "high": (120, 960),
            "urgent": (60, 480),
        },
    },
    {
        "name": "Enterprise",
        "rank": 3,
        "tagline": "Round-the-clock service and senior attention.",
        "annual_fee": Decimal("18000"),
        "list_price_discount_percent": Decimal("12"),
        "perks": "Everything in Professional\n12 % off list prices\n24/7 support clock\n"
        "Executive sponsor\nMonthly health checks",
        "clock": Clock.ALWAYS,
        "review_every_days": 90,
        "health_check_every_days": 30,
        "executive_sponsor_promised": True,
        "sponsor_contact_every_days": 60,
        "value_top_percent": 5,
        "targets": {
            "low": (240, 2880),
            "normal": (120, 1440),
            "high": (60, 480),
            "urgent": (15, 240),
        },
    },
]

ORGANISATION_TIERS = {
    "C-1001": "Enterprise",
    "C-1002": "Professional",
    "C-1003": "Essential",
    "C-1004": "Professional",
}


def _tiers(admin: User) -> dict[str, ServiceTier]:
    tiers = {}
    for spec in TIERS:
        spec = dict(spec)
        targets = spec.pop("targets")
        tier, created = ServiceTier.objects.get_or_create(name=spec["name"], defaults=spec)
        if created:
            SlaTarget.objects.bulk_create(
                SlaTarget(
                    tier=tier,
                    priority=priority,
                    first_response_minutes=first,
                    resolution_minutes=resolution,
                )
                for priority, (first, resolution) in targets.items()
            )
        tiers[tier.name] = tier
    return tiers


def _tickets(organisations, users, admin) -> None:
    """A few tickets in different states, once (when the organisation has none)."""
    northwind = organisations["C-1001"]
    if northwind.tickets.exists():
        return
    alice, bob = users["alice@northwind.example"], users["bob@northwind.example"]
    amelia, sam = users["amelia.hart@portal.example"], users["sam.patel@portal.example"]
    now = timezone.now()
    invoice = ticket_services.ticket_create(
        organisation=northwind,
        requester=alice,
        subject="Invoice INV-20417 charges list price, not our discount",
        category="billing",
        priority="normal",
        body="Our Enterprise discount of 12 % is missing on invoice INV-20417.",
        now=now - timedelta(days=9),
    )
    ticket_services.ticket_reply(
        ticket=invoice,
        author=sam,
        body="Billing applied the old price list. A credit note is on its way.",
        now=now - timedelta(days=9, hours=-1),
    )
    ticket_services.ticket_reply(
        ticket=invoice,
        author=sam,
        internal=True,
        body="Third discount miss this quarter: price list sync from contracts is late.",
        now=now - timedelta(days=9, hours=-1),
    )
    ticket_services.ticket_set_status(
        ticket=invoice, by=alice, status="resolved", now=now - timedelta(days=8)
    )
    ticket_services.ticket_rate(
        ticket=invoice, by=alice, csat=4, effort=3, comment="Quick, thanks."
    )
    ticket_services.ticket_triage(
        ticket=invoice,
        by=sam,
        assignee=sam,
        department="billing",
        priority="normal",
        feedback_department="sales",
        feedback_note="Contract discounts do not reach billing in time.",
    )
    delivery = ticket_services.ticket_create(
        organisation=northwind,
        requester=bob,
        subject="Samples for Dr Osei not delivered",
        category="delivery",
        priority="high",
        body="Shipment for the paediatrics ward was due Tuesday and has not arrived.",
        now=now - timedelta(hours=3),
    )
    ticket_services.ticket_reply(
        ticket=delivery,
        author=amelia,
        body="I have asked logistics to trace it and will update you by noon.",
        now=now - timedelta(hours=2),
    )
    _ticket_by_email(bob)
    ticket_services.ticket_create(
        organisation=northwind,
        requester=alice,
        subject="Add a second delivery address",
        category="access",
        priority="low",
        body="Our new clinic on Harbour Street needs deliveries too.",
        now=now - timedelta(minutes=20),
    )


def _ticket_by_email(sender: User) -> None:
    """A ticket that came by email to the support address, through the same service as
    the mailbox reader (tickets/inbound.py): quoted history dropped, marked as by email."""
    message = EmailMessage()
    message["From"] = f"{sender.full_name} <{sender.email}>"
    message["To"] = "support@portal.example"
    message["Subject"] = "Copy of the October statement, please"
    message["Message-ID"] = make_msgid(domain="northwind.example")
    message.set_content(
        "Hello,\n\nCould you send us a copy of our October statement? Our accounts team "
        "cannot find it.\n\nThanks,\nBob\n\nOn Mon, Billing <billing@old-erp.example> wrote:\n"
        "> Your statement for October is attached.\n"
    )
    email_receive(raw=message.as_bytes())


def _relationship(organisations, users) -> None:
    """Reviews held and planned, and promises made (one overdue), once."""
    if Engagement.objects.exists():
        return
    today = timezone.localdate()
    amelia, alice = users["amelia.hart@portal.example"], users["alice@northwind.example"]
    northwind, st_marys = organisations["C-1001"], organisations["C-1002"]
    review = relationship_services.engagement_record(
        by=amelia,
        organisation=northwind,
        kind=EngagementKind.QBR,
        on=today - timedelta(days=40),
        attendees=[amelia, alice, users["eva.lindqvist@portal.example"]],
        summary="Reviewed the quarter: on-time delivery 96 %, two SLA breaches in billing.",
        next_steps="Billing to explain the duplicate invoices; pilot the new sample kits.",
        internal_notes="Alice hinted at a tender next year: keep the sponsor close.",
    )
    relationship_services.engagement_record(
        by=amelia,
        organisation=northwind,
        kind=EngagementKind.QBR,
        on=today + timedelta(days=50),
        status=EngagementStatus.PLANNED,
        summary="Next quarterly review.",
    )
    relationship_services.commitment_create(
        by=amelia,
        organisation=northwind,
        title="Credit note for the duplicated March invoice",
        due_on=today - timedelta(days=5),
        owner=users["sam.patel@portal.example"],
        engagement=review,
    )
    relationship_services.commitment_create(
        by=amelia,
        organisation=northwind,
        title="Sample kit pilot for the paediatric ward",
        due_on=today + timedelta(days=30),
        owner=amelia,
        engagement=review,
    )
    relationship_services.engagement_record(
        by=amelia,
        organisation=st_marys,
        kind=EngagementKind.HEALTH_CHECK,
        on=today - timedelta(days=120),
        attendees=[amelia],
        summary="Renewal approaching: agreed to review pricing in December.",
    )


def estate_load(directory: Path) -> dict[str, int]:
    """Generate the legacy estate (once), register its sources, sync, and match customers.

    Matching stands in for an admin working the review queue: every legacy
    customer whose name normalises to an organisation's is matched; the one
    the portal does not know stays in the queue.
    """
    from portal.sync import identity, runs
    from portal.sync.models import SourceSystem

    paths = {
        "order_entry": directory / "order_entry.sqlite3",
        "fulfilment": directory / "fulfilment",
        "billing": directory / "billing",
        "contracts": directory / "contracts.sqlite3",
        "samples": directory / "samples",
    }
    api_url = f"http://127.0.0.1:{legacy_api.DEFAULT_PORT}"
    if not paths["contracts"].exists():
        paths = estate.generate(directory, api_url=api_url)
    os.environ.setdefault("DEMO_ORDER_ENTRY_DSN", f"sqlite:///{paths['order_entry']}")
    os.environ.setdefault("DEMO_CONTRACTS_DSN", f"sqlite:///{paths['contracts']}")
    for spec in estate.source_configs(paths, api_url=api_url):
        SourceSystem.objects.get_or_create(name=spec["name"], defaults=spec)
    os.environ.setdefault("DEMO_LEGACY_API_TOKEN", legacy_api.token())
    api = legacy_api.serve_in_thread(directory)  # the old help desk and the CRM
    try:
        for source in SourceSystem.objects.filter(enabled=True, paused_reason=""):
            runs.source_sync(source=source)
    finally:
        api.shutdown()
        api.server_close()
    identity.resolve_queue()  # customers met before their organisation existed
    return {"sources": SourceSystem.objects.count()}


@transaction.atomic
def demo_load() -> dict[str, int]:
    organisations = {}
    for number, name, stage, renewal, zone in ORGANISATIONS:
        organisations[number], _ = Organisation.objects.get_or_create(
            customer_number=number,
            defaults={
                "name": name,
                "lifecycle_stage": stage,
                "renewal_date": renewal,
                "time_zone": zone,
                "city": CITIES[number],
            },
        )
    staff = {}
    for email, name, kind, department, phone in STAFF:
        is_admin = kind == UserKind.ADMIN
        staff[email] = _user(
            email,
            name,
            kind=kind,
            department=department,
            phone=phone,
            is_staff=is_admin,
            is_superuser=is_admin,
        )
        _demo_authenticator(staff[email])
    for email, name, memberships in CUSTOMERS:
        user = _user(email, name)
        for number, role in memberships:
            account_services.membership_add(
                organisation=organisations[number], user=user, role=role
            )
    admin = staff["admin@portal.example"]
    tiers = _tiers(admin)
    for number, tier_name in ORGANISATION_TIERS.items():
        tier_services.tier_assign(
            organisation=organisations[number], tier=tiers[tier_name], by=admin, reason="Demo"
        )
    for number, team in TEAMS.items():
        for role, email in team.items():
            account_services.account_team_assign(
                organisation=organisations[number], role=role, user=staff[email], by=admin
            )
    users = {u.email: u for u in User.objects.all()}
    _tickets(organisations, users, admin)
    _relationship(organisations, users)
    articles = knowledge.articles_load(admin=admin, tiers=tiers, organisations=organisations)
    return {
        "organisations": len(organisations),
        "users": len(users),
        "tiers": len(tiers),
        "tickets": Ticket.objects.count(),
        "help articles": articles,
    }
