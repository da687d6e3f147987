"""Text written in Python (flash messages, form texts, service refusals, mail subjects,
the timeline, the review pack) speaks the reader's language, as the templates do."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone, translation

from tickets import services

ROOT = Path(settings.BASE_DIR)
NOT_PRODUCT = {"tests", "migrations", "scripts", "docs", "management", ".venv"}
MESSAGE_CALLS = {"success", "error", "info", "warning"}
REFUSALS = {"ValidationError", "PermissionDenied", "SignInRefused", "add_error"}
# Admin-only texts (the brief of issue 28 leaves the Django admin in English).
ADMIN_ONLY = {"tickets/models.py", "tiers/models.py"}


def _literal(node) -> bool:
    """English written straight into the call: a non-empty string or an f-string."""
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(node.value)


def _texts_shown(call: ast.Call) -> list:
    """The arguments of `call` that reach a person as words, if it is a flash message or a
    refusal (ValidationError, PermissionDenied, SignInRefused, form.add_error)."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in MESSAGE_CALLS and getattr(getattr(func, "value", None), "id", "") == "messages":
        return call.args[1:2]
    if name in REFUSALS and call.args:
        text = call.args[-1] if name == "add_error" else call.args[0]
        return list(text.values) if isinstance(text, ast.Dict) else [text]
    return []


def _product_modules():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if NOT_PRODUCT & set(relative.parts) or path.name == "admin.py":
            continue
        if relative.as_posix() not in ADMIN_ONLY:
            yield relative, ast.parse(path.read_text())


def test_no_flash_message_or_refusal_is_written_in_english_only():
    """The rule, for code nobody has written yet: what a person is told goes through
    gettext (a literal or an f-string here would reach a German reader in English)."""
    english = [
        f"{relative}:{text.lineno}"
        for relative, tree in _product_modules()
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        for text in _texts_shown(call)
        if _literal(text)
    ]
    assert english == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ('messages.success(request, "Saved.")', 1),
        ('messages.success(request, f"{x} saved.")', 1),
        ('messages.success(request, _("Saved."))', 0),
        ('raise ValidationError({"name": "Give a name."})', 1),
        ('raise ValidationError({"name": _("Give a name.")})', 0),
        ('form.add_error("code", "Wrong.")', 1),
        ("raise PermissionDenied", 0),
    ],
)
def test_the_rule_tells_english_from_marked_text(source, found):
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)]
    assert sum(_literal(text) for call in calls for text in _texts_shown(call)) == found


def _in_german(person):
    person.language = "de"
    person.save(update_fields=["language"])


def _open(world, subject):
    return services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject=subject,
        category="billing",
        priority="normal",
        body="Details.",
    )


def _last_message(response) -> str:
    return str(list(get_messages(response.wsgi_request))[-1])


def test_a_bulk_action_is_reported_in_german_with_its_plural(client, world):
    _in_german(world.agent)
    client.force_login(world.agent)
    one, two = _open(world, "Invoice wrong"), _open(world, "Credit note missing")
    said = []
    for chosen in ([one], [one, two]):
        data = {"action": "assign", "assignee": world.agent.pk, "ticket": [t.pk for t in chosen]}
        response = client.post(reverse("tickets:bulk"), data)
        said.append(_last_message(response))
    assert said == [
        f"1 Ticket zugewiesen: {one.reference}.",
        f"2 Tickets zugewiesen: {one.reference}, {two.reference}.",
    ]


def test_following_a_ticket_and_its_refusal_speak_german(client, world):
    _in_german(world.customer_admin_a)
    _in_german(world.member_a)
    ticket = _open(world, "Parcel late")
    url = reverse("tickets:follow", args=[ticket.pk])
    client.force_login(world.customer_admin_a)
    response = client.post(url)
    assert (
        _last_message(response) == f"Sie folgen {ticket.reference}: Seine Antworten erreichen Sie."
    )
    client.force_login(world.member_a)  # the requester hears of it already
    response = client.post(url)
    assert _last_message(response) == (
        "Sie haben dieses Ticket eröffnet: Sie werden bereits darüber informiert."
    )


def test_form_labels_written_in_python_are_german_on_a_german_page(client, world):
    _in_german(world.agent)
    client.force_login(world.agent)
    page = client.get(reverse("knowledge:create")).content.decode()
    assert "Zielgruppe" in page  # the article form's labels and help texts
    assert "Für „Benannte Organisationen“" in page
    assert "Audience" not in page


def test_a_cover_mail_is_written_in_each_readers_language(world, mailoutbox):
    from accounts import cover
    from accounts.notifications import cover_notify
    from accounts.tests.factories import StaffFactory

    stand_in = StaffFactory(email="stand.in@portal.test", full_name="Sam Standin")
    _in_german(world.member_a)
    term = cover.cover_name(
        by=world.am_a,
        organisation_id=world.org_a.pk,
        cover=stand_in,
        until=timezone.localdate() + timedelta(days=3),
        note="Call them on Fridays.",
    )
    mailoutbox.clear()
    with translation.override("en"):  # whoever sends it reads English
        cover_notify(assignment_id=term.pk)
    subjects = {mail.to[0]: mail.subject for mail in mailoutbox}
    assert subjects[world.member_a.email].startswith(f"Ihr Account-Team bei {world.org_a.name}")
    assert subjects[stand_in.email].startswith(f"You cover {world.org_a.name} until")


def test_the_timeline_is_titled_in_the_readers_language(world):
    from portal.timeline.selectors import timeline

    ticket = _open(world, "Parcel late")
    with translation.override("de"):
        german = {event["title"] for event in timeline(organisation=world.org_a)}
    english = {event["title"] for event in timeline(organisation=world.org_a)}
    assert "Ticket eröffnet: Parcel late" in german
    assert "Ticket opened: Parcel late" in english  # each language its own compiled query
    assert ticket.subject == "Parcel late"
