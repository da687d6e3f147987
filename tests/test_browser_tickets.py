"""Tickets in a real browser: the customer and the account team on the same screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tickets import services
from tickets.models import Rating

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def log_in(page, email):
    sign_in(page, email)  # with the second factor where the person has or needs one
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def log_out(page):
    page.locator(".user-menu summary").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def open_ticket_for_a(world, subject):
    return services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject=subject,
        category="delivery",
        priority="normal",
        body="The pallet never arrived.",
    )


def test_customer_opens_ticket_am_replies_on_same_screen_customer_rates_it(page, world):
    subject = "Invoice 4711 charged twice"
    note = "Checked with finance: the duplicate is ours."
    reply = "Sorry about that, we refunded the second charge today."

    # The customer opens the ticket.
    log_in(page, world.customer_admin_a.email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tickets")
    page.get_by_role("link", name="Open a ticket").click()
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Category").select_option(label="Invoices and payments")
    page.get_by_label("Priority").select_option(label="High")
    page.get_by_label("What happened?").fill("We were charged twice for invoice 4711.")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    expect(page.get_by_text("We will answer here.")).to_be_visible()
    ticket_url = page.url

    # The account manager works it on the same screen.
    log_out(page)
    log_in(page, world.am_a.email)
    page.goto(ticket_url)
    expect(page).to_have_url(ticket_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    # Two composers, each its own box, button and colour: a note cannot go out by a slip.
    note_box, reply_box = (
        page.get_by_test_id("note-composer"),
        page.get_by_test_id("reply-composer"),
    )
    assert note_box.evaluate("e => getComputedStyle(e).backgroundColor") != reply_box.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    note_box.get_by_label("Internal note").fill(note)
    note_box.get_by_role("button", name="Add internal note").click()
    expect(page.get_by_test_id("internal-note")).to_contain_text(note)
    page.get_by_label("Your reply").fill(reply)
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_test_id("message").filter(has_text=reply)).to_contain_text("Anna Manager")

    # The customer reads the reply, never the note, resolves and rates.
    page.context.clear_cookies()
    log_in(page, world.customer_admin_a.email)
    page.goto(ticket_url)
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    expect(page.get_by_test_id("message").filter(has_text=reply)).to_be_visible()
    expect(page.locator("body")).not_to_contain_text(note)
    expect(page.get_by_test_id("internal-note")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())  # "Mark ... resolved?"
    page.get_by_role("button", name="Mark resolved").click()
    rating = page.get_by_test_id("rating")
    expect(rating.get_by_role("heading", name="How did we do?")).to_be_visible()
    expect(rating).to_contain_text("How satisfied are you with how this was handled?")
    expect(rating).to_contain_text("How easy was it to get this resolved?")
    rating.locator("input[type=radio][name=csat][value='4']").check()
    rating.locator("input[type=radio][name=effort][value='5']").check()
    rating.get_by_role("button", name="Send rating").click()
    expect(page.get_by_text("Thank you: your rating helps us improve.")).to_be_visible()
    expect(page.get_by_test_id("rating").get_by_role("heading")).to_have_text("Your rating")

    saved = Rating.objects.get(ticket__subject=subject)
    assert (saved.csat, saved.effort) == (4, 5)
    assert saved.rated_by == world.customer_admin_a


def test_am_viewing_as_customer_works_the_ticket_with_the_banner(page, world):
    subject = "Pallet missing from delivery"
    reply = "The carrier found it; it arrives tomorrow morning."
    open_ticket_for_a(world, subject)

    log_in(page, world.am_a.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")
    page.get_by_role("button", name="View as customer of Alpha Clinic").click()
    banner = page.get_by_test_id("view-as-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Alpha Clinic")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Tickets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tickets")
    page.get_by_test_id("ticket-table").get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    expect(banner).to_be_visible()
    page.get_by_label("Your reply").fill(reply)
    page.get_by_role("button", name="Send reply").click()
    message = page.get_by_test_id("message").filter(has_text=reply)
    expect(message).to_contain_text("Anna Manager")
    expect(banner).to_be_visible()

    page.get_by_role("button", name="Exit view as customer").click()
    expect(banner).to_have_count(0)
    expect(page.get_by_role("heading", level=1)).to_have_text("My accounts")


def test_customer_of_b_gets_404_page_for_a_ticket_of_a(page, world):
    subject = "Confidential: Alpha's delivery dispute"
    ticket = open_ticket_for_a(world, subject)

    log_in(page, world.member_b.email)
    response = page.goto(ticket.get_absolute_url())
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator("body")).not_to_contain_text(subject)


def test_closing_a_ticket_asks_first_and_a_no_leaves_it_open(page, world):
    ticket = open_ticket_for_a(world, "Pallet lost")
    log_in(page, world.am_a.email)
    page.goto(ticket.get_absolute_url())
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("button", name="Close")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == "new"
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert (
        questions
        == [
            f"Close {ticket.reference}? The customer can no longer reply to it; "
            "only staff can reopen it."
        ]
        * 2
    )


def test_the_rating_link_in_the_resolved_email_rates_without_signing_in(
    page, world, mailoutbox, django_capture_on_commit_callbacks
):
    ticket = open_ticket_for_a(world, "Pallet missing")
    services.ticket_reply(ticket=ticket, author=world.am_a, body="Found it: it arrives today.")
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(ticket=ticket, by=world.am_a, status="resolved")
    (resolved,) = [m for m in mailoutbox if "Resolved" in m.subject]
    link = re.search(r"^\s+4: (http\S+)$", resolved.body, re.M).group(1)

    page.goto(re.sub(r"^https?://[^/]+", "", link))  # on the test server, nobody signed in
    expect(page.get_by_role("heading", level=1)).to_have_text("How did we do?")
    satisfied = page.get_by_role("group", name="How satisfied are you with how this was handled?")
    expect(satisfied.get_by_role("radio", name="4")).to_be_checked()  # the score clicked
    easy = page.get_by_role("group", name="How easy was it to get this resolved?")
    easy.get_by_role("radio", name="5").check()
    page.get_by_role("button", name="Send rating").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.csat, rating.effort, rating.rated_by) == (4, 5, world.member_a)
