"""The knowledge base's screens: suggestions, deflections, insights, writing, the ticket's tools."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.platform.mail import absolute_url
from tickets import services as ticket_services
from tickets.knowledge import services
from tickets.knowledge.models import Article, Deflection


def open_ticket(world, subject="Parcel never arrived", body="Order 1234 is late."):
    return ticket_services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject=subject,
        category="delivery",
        priority="normal",
        body=body,
    )


def test_the_new_ticket_form_asks_for_suggestions_as_the_subject_is_typed(client, world):
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:create")).content.decode()
    assert f'hx-get="{reverse("knowledge:suggest")}"' in page
    assert 'id="kb-suggestions"' in page


def test_suggestions_offer_articles_with_the_answered_button(client, world, write):
    article = write("Where is my delivery?", body="Track the parcel.")
    client.force_login(world.member_a)
    response = client.get(
        reverse("knowledge:suggest"), {"subject": "my delivery is late"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "Where is my delivery?" in body
    assert reverse("knowledge:answered", args=[article.pk]) in body
    assert "<html" not in body  # a fragment
    empty = client.get(reverse("knowledge:suggest"), {"subject": "zzzz qqqq"})
    assert 'data-testid="suggestions"' not in empty.content.decode()


def test_this_answered_my_question_records_a_deflection_and_opens_no_ticket(client, world, write):
    article = write("Where is my delivery?")
    client.force_login(world.member_a)
    response = client.post(
        reverse("knowledge:answered", args=[article.pk]),
        {"subject": "Parcel late", "body": "typed so far", "category": "delivery"},
    )
    assert response.status_code == 302
    assert response["Location"] == article.get_absolute_url()
    deflection = Deflection.objects.get()
    assert (deflection.article, deflection.person, deflection.organisation) == (
        article,
        world.member_a,
        world.org_a,
    )
    assert deflection.subject == "Parcel late"
    assert deflection.created_at is not None
    assert not world.org_a.tickets.exists()


def test_staff_viewing_as_the_customer_are_not_counted(client, world, write):
    article = write("Where is my delivery?")
    client.force_login(world.am_a)
    client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    response = client.post(reverse("knowledge:answered", args=[article.pk]), {"subject": "x"})
    assert response.status_code == 302
    assert not Deflection.objects.exists()


def test_an_article_of_another_organisation_cannot_be_credited(client, world, write):
    article = write("For A", audience="organisations", organisations=[world.org_a])
    client.force_login(world.member_b)
    response = client.post(reverse("knowledge:answered", args=[article.pk]), {"subject": "x"})
    assert response.status_code == 404
    assert not Deflection.objects.exists()


def _deflect(world, article, person, organisation, n):
    for _ in range(n):
        services.deflection_record(article=article, person=person, organisation=organisation)


def _queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_insights_show_deflections_per_month_and_the_articles_that_deflect(client, world, write):
    delivery, invoice = write("Where is my delivery?"), write("Paying an invoice")
    _deflect(world, delivery, world.member_a, world.org_a, 2)
    open_ticket(world)
    client.force_login(world.am_a)
    small, page = _queries(client, reverse("knowledge:insights"))
    assert "Where is my delivery?" in page
    _deflect(world, invoice, world.member_a, world.org_a, 3)
    _deflect(world, delivery, world.member_b, world.org_b, 7)  # B's: not am_a's to see
    for i in range(5):
        open_ticket(world, subject=f"T{i}")
    large, page = _queries(client, reverse("knowledge:insights"))
    assert large == small
    assert large <= 6  # the page's three, the rest the frame's (session, person, device)
    top = page.split('data-testid="deflection-articles"')[1]
    assert top.index("Paying an invoice") < top.index("Where is my delivery?")
    assert "<td>5</td><td>6</td><td>45 %</td>" in page  # 5 deflected, 6 opened this month
    client.force_login(world.am_b)
    _, page_b = _queries(client, reverse("knowledge:insights"))
    assert "Paying an invoice" not in page_b
    assert "<td>7</td>" in page_b


def test_a_resolved_ticket_becomes_a_draft_article_in_one_step(client, world, category):
    ticket = open_ticket(world, subject="How do I change the delivery address?")
    ticket_services.ticket_reply(ticket=ticket, author=world.am_a, body="Note", internal=True)
    ticket_services.ticket_reply(
        ticket=ticket, author=world.am_a, body="Open the order and press Change address."
    )
    ticket_services.ticket_set_status(ticket=ticket, by=world.am_a, status="resolved")
    client.force_login(world.am_a)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert reverse("knowledge:from_ticket", args=[ticket.pk]) in page
    response = client.post(reverse("knowledge:from_ticket", args=[ticket.pk]))
    article = Article.objects.get()
    assert response["Location"] == reverse("knowledge:edit", args=[article.pk])
    assert article.title == "How do I change the delivery address?"
    assert "Order 1234 is late." in article.body
    assert "Open the order and press Change address." in article.body
    assert "Note" not in article.body  # internal notes stay inside
    assert not article.is_published
    assert list(article.organisations.all()) == [world.org_a]
    assert article.source_ticket == ticket
    client.post(reverse("knowledge:from_ticket", args=[ticket.pk]))
    assert Article.objects.count() == 1  # a second click finds the draft


def test_an_open_ticket_does_not_become_an_article(client, world, category):
    ticket = open_ticket(world)
    client.force_login(world.am_a)
    response = client.post(reverse("knowledge:from_ticket", args=[ticket.pk]), follow=True)
    assert "Only a resolved ticket" in response.content.decode()
    assert not Article.objects.exists()


def test_staff_insert_a_link_to_an_article_the_customer_can_open(client, world, write):
    ticket = open_ticket(world)
    for_a = write("Where is my delivery?")
    for_b = write("B's bay", audience="organisations", organisations=[world.org_b])
    draft = write("Not yet", publish=False)
    client.force_login(world.admin)
    page = client.get(ticket.get_absolute_url()).content.decode()
    picker = page.split('data-testid="article-picker"')[1].split("</form>")[0]
    assert "Where is my delivery?" in picker
    assert "B&#x27;s bay" not in picker
    assert "Not yet" not in picker
    response = client.get(ticket.get_absolute_url(), {"article": for_a.pk})
    assert f"Where is my delivery?: {absolute_url('knowledge:article', for_a.pk)}" in (
        response.content.decode()
    )
    for pk in (for_b.pk, draft.pk):
        assert client.get(ticket.get_absolute_url(), {"article": pk}).status_code == 404


@pytest.mark.parametrize("action", ["save", "publish"])
def test_staff_write_an_article_as_draft_or_published(client, world, category, action):
    client.force_login(world.am_a)
    response = client.post(
        reverse("knowledge:create"),
        {
            "title": "Cold-chain parcels",
            "category": category.pk,
            "language": "en",
            "body": "## Keep cold\n\n<script>alert(1)</script>Store at 2-8 °C.",
            "audience": "organisations",
            "organisations": [world.org_a.pk],
            "action": action,
        },
    )
    article = Article.objects.get()
    assert response["Location"] == article.get_absolute_url()
    assert article.is_published == (action == "publish")
    assert "<script>" not in article.body_html
    assert "<h2>Keep cold</h2>" in article.body_html
    client.force_login(world.member_a)
    assert client.get(article.get_absolute_url()).status_code == (
        200 if action == "publish" else 404
    )


def test_an_audience_without_its_list_is_refused_and_nothing_saved(client, world, category):
    client.force_login(world.am_a)
    response = client.post(
        reverse("knowledge:create"),
        {"title": "X", "category": category.pk, "language": "en", "body": "x",
         "audience": "tiers", "action": "publish"},
    )  # fmt: skip
    assert response.status_code == 400
    assert "Choose at least one tier" in response.content.decode()
    assert not Article.objects.exists()


def test_the_author_is_offered_only_organisations_they_see(client, world, category):
    client.force_login(world.am_b)
    page = client.get(reverse("knowledge:create")).content.decode()
    assert world.org_b.name in page
    assert world.org_a.name not in page


def test_editing_back_to_draft_hides_it_again(client, world, write):
    article = write("Where is my delivery?")
    client.force_login(world.am_a)
    data = {"title": article.title, "category": article.category_id, "language": "en",
            "body": "New text", "audience": "everyone", "action": "unpublish"}  # fmt: skip
    client.post(reverse("knowledge:edit", args=[article.pk]), data)
    article.refresh_from_db()
    assert not article.is_published
    assert "New text" in article.body_html
