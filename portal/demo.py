"""The demo estate: a few organisations, their people and their account teams.

Loading twice changes nothing: every row is found by its natural key first.
"""

from datetime import date

from django.db import transaction

from accounts import services as account_services
from accounts.choices import Department, LifecycleStage, MembershipRole, TeamRole, UserKind
from accounts.models import Organisation, User

DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105 - printed by `make run` on purpose

ACTIVE, RENEWAL, ONBOARDING = (
    LifecycleStage.ACTIVE,
    LifecycleStage.RENEWAL,
    LifecycleStage.ONBOARDING,
)
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


def _user(email: str, full_name: str, **fields) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = account_services.user_create(
            email=email, full_name=full_name, password=DEMO_PASSWORD, **fields
        )
    return user


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
    for email, name, memberships in CUSTOMERS:
        user = _user(email, name)
        for number, role in memberships:
            account_services.membership_add(
                organisation=organisations[number], user=user, role=role
            )
    admin = staff["admin@portal.example"]
    for number, team in TEAMS.items():
        for role, email in team.items():
            account_services.account_team_assign(
                organisation=organisations[number], role=role, user=staff[email], by=admin
            )
    return {"organisations": len(organisations), "users": User.objects.count()}
