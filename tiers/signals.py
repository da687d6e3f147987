"""What tiers tell the apps above them. Sent by the services, inside their transaction.

Tiers sits below the portal and cannot write its tables; the portal's timeline
listens here instead (portal/timeline/receivers.py).
"""

from django.dispatch import Signal

# A new current tier: organisation, tier, at.
tier_changed = Signal()
