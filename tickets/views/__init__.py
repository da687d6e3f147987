"""Ticket screens, one module per subject: the same pages for the customer and the staff
working the ticket."""
