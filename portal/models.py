"""Django looks for the portal's models here; each lives in the package of its subject."""

from portal.am_tasks.models import AccountTask
from portal.records.models import (
    CrmAccount,
    Invoice,
    LegacyTicket,
    Order,
    OrderLine,
    PriceAgreement,
    RecordTally,
    RevenueTally,
    SampleReceipt,
    Shipment,
)
from portal.relationship.models import (
    Commitment,
    Engagement,
    HealthScore,
    HealthWeight,
    LastContact,
    SponsorLapse,
)
from portal.sync.models import (
    CustomerIdentity,
    ProcessedFile,
    QuarantinedRecord,
    SourceSystem,
    SyncRun,
)
from portal.timeline.models import TimelineEvent

__all__ = [
    "AccountTask",
    "Commitment",
    "CrmAccount",
    "CustomerIdentity",
    "Engagement",
    "HealthScore",
    "HealthWeight",
    "Invoice",
    "LastContact",
    "LegacyTicket",
    "Order",
    "OrderLine",
    "PriceAgreement",
    "ProcessedFile",
    "QuarantinedRecord",
    "RecordTally",
    "RevenueTally",
    "SampleReceipt",
    "Shipment",
    "SourceSystem",
    "SponsorLapse",
    "SyncRun",
    "TimelineEvent",
]
