"""The access matrix: every route, every role, the expected answer.

Each route of the URL resolver must be listed here (tests/test_access_matrix.py
fails otherwise), with the status every role gets. Roles without access to
organisation A must also never see A's name or customer number in the
response, so a leak through a label or a count is caught too.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver

from accounts.preferences import unsubscribe_token
from tickets.rating_links import rating_token

ROLES = [
    "anonymous",
    "member_a",
    "customer_admin_a",
    "member_b",
    "customer_admin_b",
    "am_a",
    "am_a_viewing_as_a",
    "am_b",
    "agent",
    "admin",
]

# Roles that may see organisation A's data; everyone else must not.
SEES_A = {"member_a", "customer_admin_a", "am_a", "am_a_viewing_as_a", "admin"}


@dataclass
class Route:
    name: str
    expect: dict[str, int]
    method: str = "get"
    args: Callable = lambda world: []
    data: Callable = lambda world: {}
    # The body's content type, where a route takes JSON only (the API's default); the test
    # client posts multipart form data otherwise.
    content_type: str | None = None
    # Routes whose page is about A for anyone holding the link (e.g. an invitation).
    leak_checked: bool = True
    notes: str = ""


def fresh(instance):
    """The row as the database has it now (services work on copies of their own)."""
    return type(instance).objects.get(pk=instance.pk)


def email_of_ticket_a(world):
    """The email ticket A came in by, kept as received (tickets/inbound.py)."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from tickets.models import InboundEmail

    record, created = InboundEmail.objects.get_or_create(
        message_id="<matrix@customer.test>",
        defaults={"sender": "member.a@alpha.test", "outcome": "opened",
                  "received_at": timezone.now(), "ticket": world.ticket_a},
    )  # fmt: skip
    if created:
        record.raw.save("message.eml", ContentFile(b"Subject: Parcel missing\r\n\r\nHi"))
    return record


def everyone(status: int, **overrides: int) -> dict[str, int]:
    return {role: overrides.get(role, status) for role in ROLES}


LOGIN = 302  # anonymous users are sent to the login page

# A screen of the current organisation: customers see their own; staff are sent
# home to pick an account unless they are viewing as one.
CUSTOMER_SCREEN = everyone(
    302,
    member_a=200,
    customer_admin_a=200,
    member_b=200,
    customer_admin_b=200,
    am_a_viewing_as_a=200,
)


# A customer admin's page of their own organisation (staff viewing as them see it too;
# staff outside view-as are sent home to pick an account); members are refused.
CUSTOMER_ADMIN_PAGE = everyone(
    403,
    anonymous=LOGIN,
    customer_admin_a=200,
    customer_admin_b=200,
    am_a=302,
    am_b=302,
    agent=302,
    admin=302,
    am_a_viewing_as_a=200,
)


# A customer admin's action on their own organisation (staff viewing as them may act too;
# staff outside view-as are sent home to pick an account); members are refused.
CUSTOMER_ADMIN_ACTION = everyone(
    403,
    anonymous=LOGIN,
    customer_admin_a=302,
    customer_admin_b=302,
    am_a=302,
    am_b=302,
    agent=302,
    admin=302,
    am_a_viewing_as_a=302,
)


def OF_TICKET_A(ok: int) -> dict[str, int]:
    """A ticket of A (routed to logistics): A's people and staff on A; everyone else 404."""
    return everyone(
        404,
        anonymous=LOGIN,
        member_a=ok,
        customer_admin_a=ok,
        am_a=ok,
        am_a_viewing_as_a=ok,
        admin=ok,
    )


# A record of A synced from a legacy system: A's people and A's staff; others 404. Unlike
# tickets, no department queue reaches synced records.
OF_RECORD_OF_A = everyone(
    404,
    anonymous=LOGIN,
    member_a=200,
    customer_admin_a=200,
    am_a=200,
    am_a_viewing_as_a=200,
    admin=200,
)


def STAFF_TOOL(ok: int) -> dict[str, int]:
    """Staff tools: every employee, each seeing only their own share; customers 404."""
    return everyone(
        404, anonymous=LOGIN, am_a=ok, am_a_viewing_as_a=ok, am_b=ok, agent=ok, admin=ok
    )


def MATCHERS(ok: int) -> dict[str, int]:
    """The identity screens: admins and account managers; other staff and customers 404."""
    return {**STAFF_TOOL(ok), "agent": 404}


# The API answers 401 (not a redirect to the login page) without credentials.
API_ANONYMOUS = 401
API_LIST = everyone(200, anonymous=API_ANONYMOUS)


def API_OF_A(ok: int) -> dict[str, int]:
    """An API object of A: A's people and A's staff; anyone else the same 404 as a typo."""
    return everyone(
        404,
        anonymous=API_ANONYMOUS,
        member_a=ok,
        customer_admin_a=ok,
        am_a=ok,
        am_a_viewing_as_a=ok,
        admin=ok,
    )


# Staff-only API endpoints refuse customers outright (403): there is nothing of theirs there.
API_STAFF = everyone(
    403, anonymous=API_ANONYMOUS, am_a=200, am_a_viewing_as_a=200, am_b=200, agent=200, admin=200
)


MATRIX: list[Route] = [
    # Agents land on their department's queue; everyone else on their home or My accounts.
    Route("home", everyone(200, anonymous=LOGIN, agent=302)),
    Route("ping", everyone(200), notes="Public and trivial: the benchmarks' baseline."),
    Route("health", everyone(200), notes="For the load balancer: says ok/unavailable per part."),
    Route("accounts:login", everyone(302, anonymous=200)),
    Route("accounts:logout", everyone(302), method="post"),
    Route("accounts:password_change", everyone(200, anonymous=LOGIN)),
    Route("accounts:password_change_done", everyone(200, anonymous=LOGIN)),
    Route("accounts:password_reset", everyone(200)),
    Route("accounts:password_reset_done", everyone(200)),
    Route(
        "accounts:password_reset_confirm",
        everyone(200),
        args=lambda w: ["bm9uZQ", "bad-token"],
    ),
    Route("accounts:password_reset_complete", everyone(200)),
    Route(
        "accounts:organisation_switch",
        everyone(404, anonymous=LOGIN, member_a=302, customer_admin_a=302),
        method="post",
        data=lambda w: {"organisation": w.org_a.pk},
    ),
    Route(
        "accounts:view_as_start",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [w.org_a.pk],
    ),
    Route("accounts:view_as_exit", everyone(302), method="post"),
    Route(
        "accounts:members",
        CUSTOMER_ADMIN_PAGE,
    ),
    Route(
        "accounts:member_invite",
        CUSTOMER_ADMIN_ACTION,
        method="post",
        data=lambda w: {"email": "new.colleague@example.org", "role": "member"},
    ),
    Route(
        "accounts:member_invitation_resend",
        # B's customer admin names A's invitation: the same 404 as a missing one.
        {**CUSTOMER_ADMIN_ACTION, "customer_admin_b": 404},
        method="post",
        args=lambda w: [w.org_a.invitations.get().pk],
    ),
    Route(
        "accounts:member_invitation_revoke",
        {**CUSTOMER_ADMIN_ACTION, "customer_admin_b": 404},
        method="post",
        args=lambda w: [w.org_a.invitations.get().pk],
    ),
    Route(
        "accounts:member_deactivate",
        # B's customer admin names A's membership id: the same 404 as a missing id.
        everyone(
            403,
            anonymous=LOGIN,
            customer_admin_a=302,
            customer_admin_b=404,
            am_a=302,
            am_b=302,
            agent=302,
            admin=302,
            am_a_viewing_as_a=302,
        ),
        method="post",
        args=lambda w: [w.member_a.memberships.get().pk],
    ),
    Route("accounts:webhooks", CUSTOMER_ADMIN_PAGE),
    Route(
        "accounts:webhooks",
        CUSTOMER_ADMIN_ACTION,
        method="post",
        data=lambda w: {"url": "http://127.0.0.1:9/hook", "events": ["ticket.created"]},
    ),
    # A's webhook: B's customer admin gets the same 404 as for a missing one.
    Route(
        "accounts:webhook",
        {**CUSTOMER_ADMIN_PAGE, "customer_admin_b": 404},
        args=lambda w: [webhook_of_a(w).pk],
    ),
    *[
        Route(
            name,
            {**CUSTOMER_ADMIN_ACTION, "customer_admin_b": 404},
            method="post",
            args=lambda w: [webhook_of_a(w).pk],
        )
        for name in (
            "accounts:webhook_rotate",
            "accounts:webhook_enable",
            "accounts:webhook_delete",
        )
    ],
    # Single sign-on (accounts/sso.py): the customer admin's provider and domains.
    Route("accounts:sso", CUSTOMER_ADMIN_PAGE),
    Route(
        "accounts:sso",
        CUSTOMER_ADMIN_ACTION,
        method="post",
        data=lambda w: {
            "name": "SSO",
            "server_url": "https://id.example.com",
            "client_id": "portal",
            "client_secret": "s3cret",
        },
    ),
    Route(
        "accounts:sso_domain_add",
        CUSTOMER_ADMIN_ACTION,
        method="post",
        data=lambda w: {"domain": "example.com", "proof_email": "it@example.com"},
    ),
    Route(
        "accounts:sso_domain_delete",
        {**CUSTOMER_ADMIN_ACTION, "customer_admin_b": 404},
        method="post",
        args=lambda w: [domain_claim_of_a(w).pk],
    ),
    Route(
        "accounts:sso_domain_verify",
        everyone(200),
        args=lambda w: [domain_claim_of_a(w) and DOMAIN_CLAIM_TOKEN],
        leak_checked=False,
        notes="The link mailed to the domain is the capability: it names who claims it.",
    ),
    # Starting a sign-in: an address whose domain nobody proved gets the login page back.
    Route(
        "accounts:sso_start",
        everyone(400),
        method="post",
        data=lambda w: {"email": "someone@unclaimed.example"},
    ),
    # The provider's answer without the state this browser was given: refused, for anyone.
    Route(
        "openid_connect_callback",
        everyone(400),
        args=lambda w: [identity_provider_of_a(w).provider_id],
    ),
    Route(
        "accounts:member_two_factor",
        # Customer admins (and staff viewing as) require it of their organisation; B's admin
        # sets B's. Staff outside view-as are sent home to pick an account.
        CUSTOMER_ADMIN_ACTION,
        method="post",
        data=lambda w: {"requires_two_factor": "on"},
    ),
    # Two-factor sign-in: about the person, not an organisation. Staff in the matrix are
    # signed in with their second factor (tests/conftest.py's client), customers without.
    Route(
        "accounts:two_factor_login",
        # Nobody in the matrix is between password and code: anonymous back to the login,
        # a verified or unneeded session on to its page.
        everyone(302),
    ),
    Route("accounts:two_factor", everyone(200, anonymous=LOGIN)),
    # A person's own language and time zone: about the person, never an organisation.
    Route("accounts:preferences", everyone(200, anonymous=LOGIN)),
    Route(
        "accounts:preferences",
        everyone(302, anonymous=LOGIN),
        method="post",
        data=lambda w: {"language": "de", "time_zone": "Europe/Berlin"},
    ),
    Route(
        "accounts:two_factor_recovery_codes",
        # Staff get new codes; customers without an authenticator are told to turn it on.
        everyone(302),
        method="post",
    ),
    Route(
        "accounts:two_factor_disable",
        # Required for staff: refused (403). The customers here have nothing to turn off.
        everyone(
            403,
            anonymous=LOGIN,
            member_a=302,
            customer_admin_a=302,
            member_b=302,
            customer_admin_b=302,
        ),
        method="post",
        data=lambda w: {"password": "correct horse battery"},
    ),
    # Tickets and tiers -----------------------------------------------------------------
    Route("tickets:list", CUSTOMER_SCREEN),
    Route("tickets:list_csv", CUSTOMER_SCREEN),
    Route("tickets:create", CUSTOMER_SCREEN),
    Route("tiers:mine", CUSTOMER_SCREEN),
    Route("tickets:detail", OF_TICKET_A(200), args=lambda w: [w.ticket_a.pk]),
    Route(
        "tickets:reply",
        OF_TICKET_A(302),
        method="post",
        args=lambda w: [w.ticket_a.pk],
        data=lambda w: {"body": "Any news?"},
    ),
    Route(
        "tickets:status",
        OF_TICKET_A(302),
        method="post",
        args=lambda w: [w.ticket_a.pk],
        data=lambda w: {"status": "resolved"},
    ),
    Route(
        "tickets:triage",
        {**OF_TICKET_A(302), "member_a": 404, "customer_admin_a": 404},
        method="post",
        args=lambda w: [w.ticket_a.pk],
        data=lambda w: {"department": "logistics", "priority": "high"},
    ),
    Route(
        "tickets:merge",
        {**OF_TICKET_A(302), "member_a": 404, "customer_admin_a": 404},
        method="post",
        args=lambda w: [w.duplicate_a.pk],
        data=lambda w: {"into": w.ticket_a.pk},
    ),
    Route(
        "tickets:rate",
        # Staff may read a rating but never give one: the customer's own voice.
        {**OF_TICKET_A(302), "am_a": 403, "am_a_viewing_as_a": 403, "admin": 403},
        method="post",
        args=lambda w: [w.resolved_a.pk],
        data=lambda w: {"csat": 5, "effort": 4},
    ),
    Route("tickets:attachment", OF_TICKET_A(200), args=lambda w: [w.attachment_a.pk]),
    Route(
        "tickets:email_raw",
        {**OF_TICKET_A(200), "member_a": 404, "customer_admin_a": 404},
        args=lambda w: [email_of_ticket_a(w).pk],
        notes="The email as received (.eml): staff who may see its ticket only.",
    ),
    Route("tickets:queue", STAFF_TOOL(200)),
    # Saved views and bulk actions: staff only; each acts only on what the person may see.
    Route(
        "tickets:view_save",
        STAFF_TOOL(302),
        method="post",
        data=lambda w: {"name": "Breached", "sla": "breached"},
    ),
    Route(
        "tickets:view_delete",
        # Only the owner deletes a view: anyone else gets the 404 of a missing one.
        {**STAFF_TOOL(404), "admin": 302},
        method="post",
        args=lambda w: [saved_view_of_admin(w).pk],
    ),
    Route(
        "tickets:bulk",
        STAFF_TOOL(302),
        method="post",
        data=lambda w: {"action": "status", "status": "resolved", "ticket": [w.ticket_a.pk]},
        notes="Tickets a person may not see are refused by reference, nothing of them shown.",
    ),
    Route("tickets:insights", STAFF_TOOL(200)),
    Route(
        "tickets:improvement_create",
        STAFF_TOOL(302),
        method="post",
        data=lambda w: {"department": "logistics", "title": "Trace parcels", "tickets": []},
    ),
    Route("tickets:improvement", STAFF_TOOL(200), args=lambda w: [w.improvement.pk]),
    # Help articles (tickets/knowledge): everyone signed in reads the list, each their own
    # articles; one for A alone (it names A) is A's like a record; staff write and measure.
    Route(
        "knowledge:list",
        everyone(200, anonymous=LOGIN),
        data=lambda w: {"category": article_of_a(w).category.slug},
    ),
    Route("knowledge:article", OF_RECORD_OF_A, args=lambda w: [article_of_a(w).pk]),
    Route(
        "knowledge:suggest",
        CUSTOMER_SCREEN,
        data=lambda w: {"subject": article_of_a(w).title},
        notes="The answers offered under a new ticket's subject (htmx fragment).",
    ),
    Route(
        "knowledge:answered",
        everyone(302, member_b=404, customer_admin_b=404),
        method="post",
        args=lambda w: [article_of_a(w).pk],
        data=lambda w: {"subject": "Where do couriers go?"},
        notes="A deflection; staff outside view-as are sent home, as on customer screens.",
    ),
    Route("knowledge:create", STAFF_TOOL(200)),
    Route(
        "knowledge:edit",
        everyone(404, anonymous=LOGIN, am_a=200, am_a_viewing_as_a=200, admin=200),
        args=lambda w: [article_of_a(w).pk],
    ),
    Route(
        "knowledge:from_ticket",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [w.resolved_a.pk],
    ),
    Route("knowledge:insights", STAFF_TOOL(200), notes="Each sees their own accounts' figures."),
    # Customer value: admins and account teams (each their own accounts); agents 403.
    Route("portal:value", {**STAFF_TOOL(200), "agent": 403}),
    Route("portal:tier_fit", {**STAFF_TOOL(200), "agent": 403}),
    # Handing a staff member's accounts over: admins only; other staff 403, customers 404.
    Route("accounts:team_handoff", {**STAFF_TOOL(403), "admin": 200}),
    # The relationship: customers read their reviews and commitments; the account team
    # and admins keep them (on staff pages, like the account page with its health).
    Route("portal:reviews", CUSTOMER_SCREEN),
    Route("portal:commitments", CUSTOMER_SCREEN),
    Route("portal:renewals", STAFF_TOOL(200), notes="Each sees their own accounts' renewals."),
    Route(
        "portal:account",
        everyone(404, anonymous=LOGIN, am_a=200, am_a_viewing_as_a=200, admin=200),
        args=lambda w: [w.org_a.pk],
    ),
    Route(
        "portal:engagement_create",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [w.org_a.pk],
        data=lambda w: {"kind": "qbr", "status": "held", "on": "2026-01-15", "summary": "Q4"},
    ),
    Route(
        "portal:engagement_edit",
        everyone(404, anonymous=LOGIN, am_a=200, am_a_viewing_as_a=200, admin=200),
        args=lambda w: [engagement_of_a(w).pk],
    ),
    Route(
        "portal:review_pack",
        everyone(404, anonymous=LOGIN, am_a=200, am_a_viewing_as_a=200, admin=200),
        args=lambda w: [engagement_of_a(w).pk],
    ),
    # A's shared review pack: A's people and A's team; others 404 (a draft: staff only,
    # portal/tests/test_review_pack.py).
    Route("portal:review_pack_pdf", OF_RECORD_OF_A, args=lambda w: [shared_pack_of_a(w).pk]),
    Route("portal:review_pack_pptx", OF_RECORD_OF_A, args=lambda w: [shared_pack_of_a(w).pk]),
    Route(
        "portal:commitment_create",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [w.org_a.pk],
        data=lambda w: {"title": "Weekly stock report", "due_on": "2026-03-01"},
    ),
    Route(
        "portal:commitment_edit",
        everyone(404, anonymous=LOGIN, am_a=200, am_a_viewing_as_a=200, admin=200),
        args=lambda w: [commitment_of_a(w).pk],
    ),
    # The customer's records ----------------------------------------------------------
    Route("portal:orders", CUSTOMER_SCREEN),
    Route("portal:shipments", CUSTOMER_SCREEN),
    Route("portal:invoices", CUSTOMER_SCREEN),
    Route("portal:timeline", CUSTOMER_SCREEN),
    Route("portal:orders_csv", CUSTOMER_SCREEN),
    Route("portal:invoices_csv", CUSTOMER_SCREEN),
    Route("portal:statement_pdf", CUSTOMER_SCREEN),
    Route("portal:order", OF_RECORD_OF_A, args=lambda w: [w.order_a.pk]),
    # A reorder request is made on the customer's screens (staff view as them); another
    # organisation's order is the 404 of a missing one.
    Route(
        "portal:order_reorder",
        {**CUSTOMER_SCREEN, "member_b": 404, "customer_admin_b": 404},
        args=lambda w: [w.order_a.pk],
    ),
    Route(
        "portal:order_reorder",
        {
            **CUSTOMER_SCREEN,
            "member_a": 302,
            "customer_admin_a": 302,
            "am_a_viewing_as_a": 302,
            "member_b": 404,
            "customer_admin_b": 404,
        },
        method="post",
        args=lambda w: [w.order_a.pk],
        data=lambda w: {"notes": "Same again, please."},
    ),
    Route("portal:invoice", OF_RECORD_OF_A, args=lambda w: [w.invoice_a.pk]),
    Route("portal:invoice_pdf", OF_RECORD_OF_A, args=lambda w: [w.invoice_a.pk]),
    # The AM workspace -------------------------------------------------------------------
    # Legacy customers to match: the people who decide (admins and AMs) see every
    # organisation's name there, by design (issue 14); other staff get a 404.
    Route(
        "portal:identity_queue",
        MATCHERS(200),
        leak_checked=False,
        notes="Candidates name any organisation: matchers pick among all of them.",
    ),
    Route(
        "portal:identity",
        MATCHERS(200),
        args=lambda w: [w.pending_identity.pk],
        leak_checked=False,
        notes="Candidates name any organisation: matchers pick among all of them.",
    ),
    Route(
        "portal:identity_accept",
        {**MATCHERS(200), "am_b": 404},  # the confirmation step; its top candidate is A
        method="post",
        data=lambda w: {"identity": [w.pending_identity.pk]},
        leak_checked=False,
        notes="The confirmation names the candidate organisation.",
    ),
    Route(
        "portal:identity_unmatch",
        MATCHERS(302),
        method="post",
        args=lambda w: [w.pending_identity.pk],
    ),
    Route(
        "portal:identity_not_ours",
        MATCHERS(302),
        method="post",
        args=lambda w: [w.pending_identity.pk],
    ),
    Route(
        "portal:identity_new_organisation",
        {**MATCHERS(403), "admin": 302},  # creating organisations is an admin's
        method="post",
        args=lambda w: [w.pending_identity.pk],
        data=lambda w: {"name": "Alfa Clinic North", "customer_number": "C-NEW1"},
    ),
    # Authority follows the account (issue 23): a customer matched to A is decided by A's
    # AM and admins; B's AM gets a 404 for it, and nobody but an admin moves it to B.
    Route(
        "portal:identity",
        {**MATCHERS(200), "am_b": 404},
        args=lambda w: [w.identity_of_a.pk],
        leak_checked=False,
        notes="A customer matched to A: for A's AM and admins.",
    ),
    Route(
        "portal:identity_unmatch",
        {**MATCHERS(302), "am_b": 404},
        method="post",
        args=lambda w: [w.identity_of_a.pk],
    ),
    Route(
        "portal:identity_not_ours",
        {**MATCHERS(302), "am_b": 404},
        method="post",
        args=lambda w: [w.identity_of_a.pk],
    ),
    Route(
        "portal:identity_match",
        {**MATCHERS(404), "admin": 302},
        method="post",
        args=lambda w: [w.identity_of_a.pk],
        data=lambda w: {"organisation": w.org_b.pk},
        notes="Moving A's customer to B: an admin's decision.",
    ),
    Route("portal:work_queue", STAFF_TOOL(200)),
    # The legacy systems and their runs: every employee reads them; admins start runs.
    Route("portal:sync_sources", STAFF_TOOL(200)),
    Route("portal:sync_source", STAFF_TOOL(200), args=lambda w: [w.source.pk]),
    Route("portal:sync_run_progress", STAFF_TOOL(200), args=lambda w: [w.run.pk]),
    Route(
        "portal:sync_run_now",
        {**STAFF_TOOL(403), "admin": 302},
        method="post",
        args=lambda w: [w.source.pk],
    ),
    Route(
        "portal:identity_match",
        {**MATCHERS(302), "am_b": 404},  # onto A: A's AM and admins
        method="post",
        args=lambda w: [w.pending_identity.pk],
        data=lambda w: {"organisation": w.org_a.pk},
    ),
    # Personal API tokens ---------------------------------------------------------------
    Route("accounts:api_tokens", everyone(200, anonymous=LOGIN)),
    Route(
        "accounts:api_token_revoke",
        # Only the owner revokes a token; anyone else gets the 404 of a missing one.
        everyone(404, anonymous=LOGIN, member_a=302),
        method="post",
        args=lambda w: [w.api_token_a.pk],
    ),
    # The REST API ------------------------------------------------------------------------
    Route("api:schema", everyone(200), notes="Public: the shape of the API, no data."),
    Route("api:docs", everyone(200), notes="Public: Swagger UI over the schema."),
    Route("api:organisation-list", API_LIST),
    Route("api:organisation-detail", API_OF_A(200), args=lambda w: [w.org_a.pk]),
    Route("api:organisation-team", API_OF_A(200), args=lambda w: [w.org_a.pk]),
    Route("api:organisation-tier", API_OF_A(200), args=lambda w: [w.org_a.pk]),
    Route("api:organisation-timeline", API_OF_A(200), args=lambda w: [w.org_a.pk]),
    Route("api:order-list", API_LIST),
    Route("api:order-detail", API_OF_A(200), args=lambda w: [w.order_a.pk]),
    Route("api:shipment-list", API_LIST),
    Route("api:shipment-detail", API_OF_A(200), args=lambda w: [w.shipment_a.pk]),
    Route("api:invoice-list", API_LIST),
    Route("api:invoice-detail", API_OF_A(200), args=lambda w: [w.invoice_a.pk]),
    Route("api:ticket-list", API_LIST),
    Route(
        "api:ticket-list",
        # Another organisation's id is "does not exist" (400), like a typo.
        {**API_OF_A(201), "member_b": 400, "customer_admin_b": 400, "am_b": 400, "agent": 400},
        method="post",
        data=lambda w: {
            "organisation": w.org_a.pk,
            "subject": "Broken seal",
            "category": "product",
            "priority": "high",
            "body": "The seal on lot 42 was broken.",
        },
    ),
    Route("api:ticket-detail", API_OF_A(200), args=lambda w: [w.ticket_a.pk]),
    Route("api:ticket-messages", API_OF_A(200), args=lambda w: [w.ticket_a.pk]),
    Route(
        "api:ticket-messages",
        API_OF_A(201),
        method="post",
        args=lambda w: [w.ticket_a.pk],
        data=lambda w: {"body": "Any news?"},
    ),
    Route("api:ticket-resolve", API_OF_A(200), method="post", args=lambda w: [w.ticket_a.pk]),
    Route("api:ticket-reopen", API_OF_A(200), method="post", args=lambda w: [w.resolved_a.pk]),
    Route(
        "api:ticket-rating",
        # Staff may read a rating but never give one: the customer's own voice.
        {**API_OF_A(200), "am_a": 403, "am_a_viewing_as_a": 403, "admin": 403},
        method="post",
        args=lambda w: [w.resolved_a.pk],
        data=lambda w: {"csat": 5, "effort": 4},
        content_type="application/json",
    ),
    Route("api:managed-account-list", API_STAFF),
    Route(
        "api:managed-account-detail",
        {**API_STAFF, "am_b": 404, "agent": 404},
        args=lambda w: [w.org_a.pk],
    ),
    # Notifications (accounts/preferences.py): each person's own settings; the unsubscribe
    # link works without signing in; following a ticket or copying a colleague needs the
    # ticket; staff follow the accounts they see.
    Route("accounts:notifications", everyone(200, anonymous=LOGIN)),
    Route(
        "accounts:unsubscribe",
        everyone(200),
        args=lambda w: [unsubscribe_token(w.member_a.pk, ["ticket_reply"])],
        notes="The signed link of an email is the capability: no login, turns emails off only.",
    ),
    Route(
        "tickets:follow",
        OF_TICKET_A(302),
        method="post",
        args=lambda w: [w.ticket_a.pk],
        notes="Staff are told they follow accounts instead (a message, nothing written).",
    ),
    Route(
        "tickets:cc",
        OF_TICKET_A(302),
        method="post",
        args=lambda w: [w.ticket_a.pk],
        data=lambda w: {"email": w.customer_admin_a.email},
    ),
    Route(
        "accounts:account_follow",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [w.org_a.pk],
    ),
    # An account manager's own role on A: hand over, cover, backup. Admins use the handoff
    # page for other people's accounts (403 here); anyone not on A gets 404.
    Route(
        "accounts:own_team",
        everyone(404, anonymous=LOGIN, am_a=200, am_a_viewing_as_a=200, admin=403),
        args=lambda w: [w.org_a.pk],
    ),
    # Account managers' tasks (portal/am_tasks): staff, each their own accounts' tasks.
    Route("portal:am_tasks", STAFF_TOOL(200)),
    Route(
        "portal:am_task_done",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [task_of_a(w).pk],
    ),
    Route(
        "portal:am_task_snooze",
        everyone(404, anonymous=LOGIN, am_a=302, am_a_viewing_as_a=302, admin=302),
        method="post",
        args=lambda w: [task_of_a(w).pk],
        data=lambda w: {"days": "1"},
    ),
    Route(
        "tickets:rate_link",
        everyone(200),
        args=lambda w: [rating_token(fresh(w.resolved_a), 4)],
        leak_checked=False,
        notes="The signed link from the resolved email is the capability: no login.",
    ),
    Route(
        "accounts:invitation_accept",
        everyone(200),
        args=lambda w: [w.invitation_token],
        leak_checked=False,
        notes="The token is the capability: whoever holds the link sees whom it invites to.",
    ),
]


def route_names(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    """Every named route of the URL configuration, with namespaces."""
    resolver = resolver or get_resolver()
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            names |= route_names(pattern, namespace)
        elif isinstance(pattern, URLPattern):
            names.add(prefix + (pattern.name or f"<unnamed: {pattern.pattern}>"))
    return names


def uncovered_routes() -> set[str]:
    """Routes neither in the matrix nor in Django admin (tested by test_admin_access)."""
    listed = {route.name for route in MATRIX}
    return {n for n in route_names() if n not in listed and not n.startswith("admin:")}


@dataclass
class Case:
    route: Route
    role: str
    expected: int = field(init=False)

    def __post_init__(self):
        self.expected = self.route.expect[self.role]


# --- The relationship's objects of A, made on first use ------------------------------------------


def engagement_of_a(world):
    """A held review of A with internal notes (which only staff pages may show)."""
    from portal.relationship.models import Engagement

    if not hasattr(world, "engagement_a"):
        world.engagement_a = Engagement.objects.create(
            organisation=world.org_a,
            kind="qbr",
            on="2026-01-10",
            summary="Reviewed the year.",
            internal_notes="Staff only: renewal at risk.",
        )
    return world.engagement_a


def shared_pack_of_a(world):
    """The business-review pack of A's review, shared with A."""
    from django.utils import timezone

    from portal.relationship.models import ReviewPack

    engagement = engagement_of_a(world)
    pack, _ = ReviewPack.objects.get_or_create(
        engagement=engagement,
        defaults={"organisation": world.org_a, "period_start": "2025-10-12",
                  "period_end": engagement.on, "summary": "A good quarter.",
                  "next_steps": "Quarterly stock review.", "shared_at": timezone.now()},
    )  # fmt: skip
    return pack


def commitment_of_a(world):
    from portal.relationship.models import Commitment

    if not hasattr(world, "commitment_a"):
        world.commitment_a = Commitment.objects.create(
            organisation=world.org_a, title="Monthly usage report", due_on="2026-02-01"
        )
    return world.commitment_a


def task_of_a(world):
    """An open task of A's account manager."""
    from portal.am_tasks.models import AccountTask

    if not hasattr(world, "task_a"):
        world.task_a = AccountTask.objects.create(
            organisation=world.org_a, assignee=world.am_a, title="Call Alpha", due_on="2026-02-01"
        )
    return world.task_a


def webhook_of_a(world):
    """A customer admin of A's webhook (to a loopback port nobody listens on)."""
    from accounts.platform.webhooks import subscription_create

    if not hasattr(world, "webhook_a"):
        world.webhook_a = subscription_create(
            owner=world.customer_admin_a,
            organisation=world.org_a,
            url="http://127.0.0.1:9/hook",
            events=["ticket.created"],
        )
    return world.webhook_a


def saved_view_of_admin(world):
    """The admin's own saved view of the ticket queue."""
    from tickets.models import SavedView

    if not hasattr(world, "saved_view"):
        world.saved_view = SavedView.objects.create(
            owner=world.admin, name="Breached", query="sla=breached"
        )
    return world.saved_view


def article_of_a(world):
    """A published help article for A alone; its title names A, so a leak shows."""
    from tickets.knowledge.models import Category
    from tickets.knowledge.services import article_save

    if not hasattr(world, "article_a"):
        category, _ = Category.objects.get_or_create(slug="deliveries", name="Deliveries")
        world.article_a = article_save(
            by=world.admin,
            title=f"{world.org_a.name}: the loading bay",
            category=category,
            body="Couriers go round the back.",
            audience="organisations",
            organisations=[world.org_a],
            publish=True,
        )
    return world.article_a


DOMAIN_CLAIM_TOKEN = "matrix-domain-claim-token"


def domain_claim_of_a(world):
    """A's claim of alpha.test, waiting for its proof link (DOMAIN_CLAIM_TOKEN)."""
    from accounts.models import DomainClaim
    from accounts.platform.tokens import token_hash

    claim, _ = DomainClaim.objects.get_or_create(
        organisation=world.org_a,
        domain="alpha.test",
        defaults={"proof_email": "it@alpha.test", "token_hash": token_hash(DOMAIN_CLAIM_TOKEN)},
    )
    return claim


def identity_provider_of_a(world):
    from accounts.models import IdentityProvider

    provider, _ = IdentityProvider.objects.get_or_create(
        organisation=world.org_a,
        defaults={"name": "Alpha SSO", "server_url": "https://id.alpha.test",
                  "client_id": "portal", "client_secret": "s3cret"},
    )  # fmt: skip
    return provider
