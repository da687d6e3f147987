from django.db import models
from django.utils.translation import gettext_lazy as _


class UserKind(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    ACCOUNT_MANAGER = "account_manager", _("Account manager")
    EXECUTIVE = "executive", _("Executive")
    SUPPORT_AGENT = "support_agent", _("Support agent")
    ADMIN = "admin", _("Admin")


class Department(models.TextChoices):
    BILLING = "billing", _("Billing")
    LOGISTICS = "logistics", _("Logistics")
    PRODUCT = "product", _("Product")
    ONBOARDING = "onboarding", _("Onboarding")
    SALES = "sales", _("Sales")
    CUSTOMER_SUCCESS = "customer_success", _("Customer success")


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVE = "active", _("Active")
    RENEWAL = "renewal", _("Renewal")
    CHURNED = "churned", _("Churned")


class MembershipRole(models.TextChoices):
    MEMBER = "member", _("Member")
    ADMIN = "admin", _("Customer admin")


class TeamRole(models.TextChoices):
    PRIMARY_AM = "primary_am", _("Account manager")
    BACKUP_AM = "backup_am", _("Backup account manager")
    EXECUTIVE_SPONSOR = "executive_sponsor", _("Executive sponsor")
    COVER_AM = "cover_am", _("Covering account manager")


class AuditAction(models.TextChoices):
    VIEW_AS_START = "view_as.start", _("Started viewing as customer")
    VIEW_AS_ACTION = "view_as.action", _("Acted while viewing as customer")
    VIEW_AS_END = "view_as.end", _("Stopped viewing as customer")
    MEMBER_INVITED = "member.invited", _("Invited a colleague")
    INVITATION_RESENT = "member.invitation_resent", _("Sent an invitation again")
    INVITATION_REVOKED = "member.invitation_revoked", _("Withdrew an invitation")
    MEMBER_JOINED = "member.joined", _("Accepted an invitation")
    MEMBER_DEACTIVATED = "member.deactivated", _("Deactivated a colleague")
    TEAM_ASSIGNED = "team.assigned", _("Changed the account team")
    TIER_CHANGED = "tier.changed", _("Changed the service tier")
    TEAM_HANDOFF = "team.handoff", _("Handed accounts over to another account manager")
    API_TOKEN_CREATED = "api_token.created", _("Created an API token")
    API_TOKEN_REVOKED = "api_token.revoked", _("Revoked an API token")
    RECORD_CREATED = "record.created", _("Created a record")
    RECORD_CHANGED = "record.changed", _("Changed a record")
    RECORD_DELETED = "record.deleted", _("Deleted a record")
    DATA_EXPORTED = "data.exported", _("Exported data")
    IDENTITY_MATCHED = "identity.matched", _("Matched a legacy customer to an organisation")
    IDENTITY_UNMATCHED = "identity.unmatched", _("Unmatched a legacy customer")
    IDENTITY_NOT_OURS = "identity.not_ours", _("Marked a legacy customer as not ours")
    ORGANISATION_CREATED = "organisation.created", _("Created an organisation")
    LOGIN_LOCKED_OUT = "login.locked_out", _("Was locked out after failed logins")
    TWO_FACTOR_ENABLED = "two_factor.enabled", _("Turned on two-factor sign-in")
    TWO_FACTOR_DISABLED = "two_factor.disabled", _("Turned off two-factor sign-in")
    TWO_FACTOR_RESET = "two_factor.reset", _("Reset someone's two-factor sign-in")
    RECOVERY_CODES_MADE = "two_factor.recovery_codes", _("Made new recovery codes")
    RECOVERY_CODE_USED = "two_factor.recovery_code_used", _("Signed in with a recovery code")
    TWO_FACTOR_REQUIRED = (
        "organisation.two_factor",
        _("Changed whether the organisation requires two-factor sign-in"),
    )
    SSO_CONFIGURED = "sso.configured", _("Changed the organisation's single sign-on")
    SSO_DOMAIN_CLAIMED = "sso.domain_claimed", _("Claimed an email domain for single sign-on")
    SSO_DOMAIN_VERIFIED = "sso.domain_verified", _("Proved an email domain for single sign-on")
    SSO_JOINED = "sso.joined", _("Joined through single sign-on")


class NotificationKind(models.TextChoices):
    """The kinds of notification email a person can route (at once, daily digest, off)."""

    TICKET_NEW = "ticket_new", _("A customer opened a ticket on an account I look after")
    TICKET_REPLY = "ticket_reply", _("Our staff answered a ticket I opened, follow or am CC'd on")
    TICKET_RESOLVED = "ticket_resolved", _("A ticket I opened, follow or am CC'd on was resolved")
    SLA_WARNING = "sla_warning", _("A ticket's SLA is at risk")
    IMPROVEMENT_DONE = "improvement_done", _("Something I reported was fixed")
    ACCOUNT_TEAM = "account_team", _("My account team changed")
    SPONSOR_LAPSE = "sponsor_lapse", _("An executive sponsor's promised contact is overdue")
    AM_TASKS = "am_tasks", _("My tasks for the day (morning email)")


class Delivery(models.TextChoices):
    AT_ONCE = "at_once", _("At once")
    DIGEST = "digest", _("In a daily digest")
    OFF = "off", _("Off")
