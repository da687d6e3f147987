"""The knowledge base: articles customers read before they open a ticket.

Its own app (label `knowledge`) inside tickets/: it belongs to customer service and
leans on tickets (an article can start from a resolved ticket, a deflection is a ticket
not opened), but keeps its own migrations, so it never races the tickets app's.
"""
