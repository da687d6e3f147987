"""A person is told their reply landed, and a new ticket's form is ready to type in."""

import re

from django.urls import reverse


def test_a_customer_reply_is_confirmed_on_the_ticket(client, world, ticket):
    client.force_login(world.member_a)
    url = reverse("tickets:reply", args=[ticket.pk])
    page = client.post(url, {"body": "Still nothing.", "kind": "reply"}, follow=True)
    assert f"Reply sent on {ticket.reference}." in page.content.decode()


def test_a_staff_note_is_confirmed_as_staff_only(client, world, ticket):
    client.force_login(world.am_a)
    url = reverse("tickets:reply", args=[ticket.pk])
    page = client.post(url, {"body": "Check the depot.", "kind": "note"}, follow=True)
    text = page.content.decode()
    assert "Internal note added: only staff see it." in text
    assert "Reply sent" not in text


def test_a_refused_reply_confirms_nothing(client, world, ticket):
    client.force_login(world.member_a)
    url = reverse("tickets:reply", args=[ticket.pk])
    page = client.post(url, {"body": "", "kind": "reply"}, follow=True)
    assert page.status_code == 400
    assert "Reply sent" not in page.content.decode()


def test_the_new_ticket_form_starts_in_its_subject(client, world):
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:create")).content.decode()
    subject = re.search(r'<input[^>]*name="subject"[^>]*>', page).group()
    assert "autofocus" in subject
    assert page.count("autofocus") == 1
