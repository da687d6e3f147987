"""Django looks for the portal's admin here; each subject registers its own."""

from portal.records import admin as records_admin
from portal.relationship import admin as relationship_admin
from portal.sync import admin as sync_admin
from portal.timeline import admin as timeline_admin

__all__ = ["records_admin", "relationship_admin", "sync_admin", "timeline_admin"]
