"""Email settings, the unsubscribe link and the AM's task list in a real browser, at phone
and laptop widths (axe-core and the no-sideways-scroll rule check every page: tests/axe.py)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import preferences
from accounts.choices import Delivery, NotificationKind
from portal.am_tasks.models import AccountTask, TaskStatus
from portal.am_tasks.services import am_task_create
from tests.axe import LAPTOP, PHONE, checked_by_axe
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENS = pytest.mark.parametrize("screen", [PHONE, LAPTOP], ids=["phone", "laptop"])


def fits(page, screen) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= screen["width"], f"{page.url} is {width} px wide"


@SCREENS
def test_a_customer_routes_answers_to_the_digest_and_turns_resolutions_off(
    browser, live_server, world, screen
):
    context = browser.new_context(base_url=live_server.url, viewport=screen)
    with checked_by_axe(context) as page:
        sign_in(page, world.member_a.email)
        page.goto("/accounts/notifications/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Email settings")
        fits(page, screen)
        reply = page.get_by_role("group", name=str(NotificationKind.TICKET_REPLY.label))
        reply.get_by_label("In a daily digest").check()
        resolved = page.get_by_role("group", name=str(NotificationKind.TICKET_RESOLVED.label))
        resolved.get_by_label("Off").check()
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Your email settings are saved.")).to_be_visible()
        fits(page, screen)
    chosen = preferences.preference_map(user=world.member_a)
    assert chosen[NotificationKind.TICKET_REPLY] == Delivery.DIGEST
    assert chosen[NotificationKind.TICKET_RESOLVED] == Delivery.OFF


@SCREENS
def test_an_unsubscribe_link_works_without_signing_in(browser, live_server, world, screen):
    token = preferences.unsubscribe_token(world.member_a.pk, [NotificationKind.TICKET_REPLY])
    context = browser.new_context(base_url=live_server.url, viewport=screen)
    with checked_by_axe(context) as page:
        page.goto(f"/accounts/notifications/stop/{token}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Stop these emails?")
        fits(page, screen)
        page.get_by_role("button", name="Stop these emails").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Done: these emails are off")
        fits(page, screen)
    chosen = preferences.preference_map(user=world.member_a)
    assert chosen[NotificationKind.TICKET_REPLY] == Delivery.OFF


@SCREENS
def test_an_am_adds_a_task_sees_it_today_snoozes_one_and_marks_one_done(
    browser, live_server, world, screen
):
    today = timezone.localdate()
    overdue = am_task_create(
        by=world.am_a, organisation_id=world.org_a.pk,
        title="Send the signed contract back to Alpha's procurement team",
        due_on=today - timedelta(days=2),
    )  # fmt: skip
    context = browser.new_context(base_url=live_server.url, viewport=screen)
    with checked_by_axe(context) as page:
        sign_in(page, world.am_a.email)
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        # My accounts shows what is overdue.
        expect(page.get_by_test_id("tasks-overdue")).to_contain_text("signed contract")
        fits(page, screen)
        page.goto("/workspace/tasks/")
        page.get_by_label("Account").select_option(label=str(world.org_a))
        page.get_by_label("What").fill("Call Alpha about the March order")
        page.get_by_label("Due").fill(today.isoformat())
        page.get_by_role("button", name="Add task").click()
        expect(page.get_by_text(f"Task added for {world.org_a.name}.")).to_be_visible()
        expect(page.get_by_test_id("tasks-today")).to_contain_text("March order")
        fits(page, screen)
        page.get_by_role(
            "button", name="Snooze to tomorrow: Call Alpha about the March order"
        ).click()
        expect(page.get_by_test_id("tasks-week")).to_contain_text("March order")
        page.get_by_role("button", name=f"Done: {overdue.title}").click()
        expect(page.get_by_test_id("tasks-overdue")).to_have_count(0)
        # The work queue shows this week's.
        page.goto("/workspace/queue/")
        expect(page.get_by_test_id("tasks-week")).to_contain_text("March order")
        fits(page, screen)
    overdue.refresh_from_db()
    assert overdue.status == TaskStatus.DONE
    made = AccountTask.objects.get(title="Call Alpha about the March order")
    assert made.snoozed_until == today + timedelta(days=1)
