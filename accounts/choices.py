from django.db import models


class UserKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    ACCOUNT_MANAGER = "account_manager", "Account manager"
    EXECUTIVE = "executive", "Executive"
    SUPPORT_AGENT = "support_agent", "Support agent"
    ADMIN = "admin", "Admin"


class Department(models.TextChoices):
    BILLING = "billing", "Billing"
    LOGISTICS = "logistics", "Logistics"
    PRODUCT = "product", "Product"
    ONBOARDING = "onboarding", "Onboarding"
    SALES = "sales", "Sales"
    CUSTOMER_SUCCESS = "customer_success", "Customer success"


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    ONBOARDING = "onboarding", "Onboarding"
    ACTIVE = "active", "Active"
    RENEWAL = "renewal", "Renewal"
    CHURNED = "churned", "Churned"


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Member"
    ADMIN = "admin", "Customer admin"


class TeamRole(models.TextChoices):
    PRIMARY_AM = "primary_am", "Account manager"
    BACKUP_AM = "backup_am", "Backup account manager"
    EXECUTIVE_SPONSOR = "executive_sponsor", "Executive sponsor"


class AuditAction(models.TextChoices):
    VIEW_AS_START = "view_as.start", "Started viewing as customer"
    VIEW_AS_ACTION = "view_as.action", "Acted while viewing as customer"
    VIEW_AS_END = "view_as.end", "Stopped viewing as customer"
    MEMBER_INVITED = "member.invited", "Invited a colleague"
    INVITATION_RESENT = "member.invitation_resent", "Sent an invitation again"
    INVITATION_REVOKED = "member.invitation_revoked", "Withdrew an invitation"
    MEMBER_JOINED = "member.joined", "Accepted an invitation"
    MEMBER_DEACTIVATED = "member.deactivated", "Deactivated a colleague"
    TEAM_ASSIGNED = "team.assigned", "Changed the account team"
    TIER_CHANGED = "tier.changed", "Changed the service tier"
    TEAM_HANDOFF = "team.handoff", "Handed accounts over to another account manager"
    API_TOKEN_CREATED = "api_token.created", "Created an API token"
    API_TOKEN_REVOKED = "api_token.revoked", "Revoked an API token"
    RECORD_CREATED = "record.created", "Created a record"
    RECORD_CHANGED = "record.changed", "Changed a record"
    RECORD_DELETED = "record.deleted", "Deleted a record"
    DATA_EXPORTED = "data.exported", "Exported data"
    IDENTITY_MATCHED = "identity.matched", "Matched a legacy customer to an organisation"
    IDENTITY_UNMATCHED = "identity.unmatched", "Unmatched a legacy customer"
    IDENTITY_NOT_OURS = "identity.not_ours", "Marked a legacy customer as not ours"
    ORGANISATION_CREATED = "organisation.created", "Created an organisation"
    LOGIN_LOCKED_OUT = "login.locked_out", "Was locked out after failed logins"
    TWO_FACTOR_ENABLED = "two_factor.enabled", "Turned on two-factor sign-in"
    TWO_FACTOR_DISABLED = "two_factor.disabled", "Turned off two-factor sign-in"
    TWO_FACTOR_RESET = "two_factor.reset", "Reset someone's two-factor sign-in"
    RECOVERY_CODES_MADE = "two_factor.recovery_codes", "Made new recovery codes"
    RECOVERY_CODE_USED = "two_factor.recovery_code_used", "Signed in with a recovery code"
    TWO_FACTOR_REQUIRED = (
        "organisation.two_factor",
        "Changed whether the organisation requires two-factor sign-in",
    )
    SSO_CONFIGURED = "sso.configured", "Changed the organisation's single sign-on"
    SSO_DOMAIN_CLAIMED = "sso.domain_claimed", "Claimed an email domain for single sign-on"
    SSO_DOMAIN_VERIFIED = "sso.domain_verified", "Proved an email domain for single sign-on"
    SSO_JOINED = "sso.joined", "Joined through single sign-on"
