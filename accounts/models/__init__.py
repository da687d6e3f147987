"""Organisations, the people in them and the staff who look after them.

One module per subject; every model is re-exported here, so `from accounts.models import X`
works for all of them (and Django finds them: one app, one migration history).
"""

from accounts.models.audit import AuditEvent
from accounts.models.memberships import AccountAssignment, AccountFollow, Invitation, Membership
from accounts.models.notifications import (
    DigestItem,
    NotificationPreference,
    PendingTask,
    SentNotification,
)
from accounts.models.organisations import Organisation
from accounts.models.people import ApiToken, User, UserManager, staff_q
from accounts.models.sessions import Session
from accounts.models.sso import DomainClaim, IdentityProvider, SingleSignOnDevice
from accounts.models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "AccountAssignment",
    "AccountFollow",
    "ApiToken",
    "AuditEvent",
    "DigestItem",
    "DomainClaim",
    "IdentityProvider",
    "Invitation",
    "Membership",
    "NotificationPreference",
    "Organisation",
    "PendingTask",
    "SentNotification",
    "Session",
    "SingleSignOnDevice",
    "User",
    "UserManager",
    "WebhookDelivery",
    "WebhookSubscription",
    "staff_q",
]
