"""What accounts tell the apps above it. Sent by the services, inside their transaction.

The portal's task rules listen (portal/am_tasks/receivers.py): an account left without a
backup account manager gets its task as soon as the change commits.
"""

from django.dispatch import Signal

# An account team changed (assignment, handoff, cover): organisation_ids.
team_changed = Signal()
