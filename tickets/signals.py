"""What tickets tell the apps above them. Sent by the services, inside their transaction.

Tickets sits below the portal and cannot write its tables; the portal listens
here instead: its "last contact" and health scores (portal/relationship/receivers.py)
and the customers' timeline (portal/timeline/receivers.py).
"""

from django.dispatch import Signal

# Staff answered a customer in public: organisation_id, at.
staff_replied = Signal()

# An improvement is done: improvement, organisation_ids (of its tickets), at.
improvement_done = Signal()

# A ticket opened, changed status, was rated or merged: organisation_id.
ticket_changed = Signal()
