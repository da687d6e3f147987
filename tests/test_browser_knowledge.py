"""Help articles in a real browser: suggestions while a ticket is typed, "this answered my
question", and staff linking an article in a reply and turning a ticket into an article.

Every page opened here is checked by axe-core, and the last one at 390 and 1366 px
(tests/axe.py)."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import sign_in
from tickets import services as ticket_services
from tickets.knowledge import services
from tickets.knowledge.models import Article, Category, Deflection

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def articles(world):
    category = Category.objects.create(name="Orders and deliveries", slug="orders")
    return [
        services.article_save(
            by=world.admin,
            title=title,
            category=category,
            body=body,
            publish=True,
        )
        for title, body in [
            ("Where is my delivery?", "Track the **parcel** on the Deliveries page.\n\n"
             "| Status | Meaning |\n| --- | --- |\n| Shipped | on its way |"),
            ("Paying an invoice", "Pay by bank transfer."),
        ]
    ]  # fmt: skip


def test_an_article_answers_the_question_before_a_ticket_is_opened(page, world, articles):
    sign_in(page, world.member_a.email)
    page.goto("/tickets/new/")
    page.get_by_label("Subject").press_sequentially("My deliv", delay=30)
    suggestions = page.get_by_test_id("suggestions")
    expect(suggestions).to_contain_text("Where is my delivery?")
    expect(suggestions).not_to_contain_text("Paying an invoice")
    suggestions.get_by_role("button", name="This answered my question").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Where is my delivery?")
    expect(page.get_by_text("Glad it helped. No ticket was opened.")).to_be_visible()
    expect(page.get_by_test_id("article-body").locator("table")).to_be_visible()
    deflection = Deflection.objects.get()
    assert deflection.subject == "My deliv"
    assert deflection.person == world.member_a
    assert not world.org_a.tickets.exists()
    page.goto("/help/?q=invoice")
    expect(page.get_by_test_id("articles")).to_contain_text("Paying an invoice")


def test_staff_link_an_article_in_a_reply_and_turn_a_ticket_into_an_article(page, world, articles):
    ticket = ticket_services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="How do I track my parcel?",
        category="delivery",
        priority="normal",
        body="Where can I see it?",
    )
    sign_in(page, world.am_a.email)
    page.goto(ticket.get_absolute_url())
    page.get_by_label("Help article").select_option(label="Where is my delivery?")
    page.get_by_role("button", name="Insert link").click()
    expect(page.get_by_label("Your reply")).to_have_value(
        re.compile(rf"Where is my delivery\?: http\S+/help/{articles[0].pk}/")
    )
    page.get_by_role("button", name="Send reply").click()
    link = page.get_by_test_id("message").locator(f'a[href$="/help/{articles[0].pk}/"]')
    expect(link).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark resolved").click()
    page.get_by_role("button", name="Turn into a draft help article").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("How do I track my parcel?")
    expect(page.get_by_label("Text", exact=True)).to_have_value(re.compile("Where can I see it"))
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_test_id("article-body")).to_contain_text("Where can I see it?")
    assert Article.objects.get(source_ticket=ticket).is_published
