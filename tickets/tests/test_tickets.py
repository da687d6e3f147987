"""Tickets end to end through the web layer: threads, notes, routing, ratings, the loop."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import UserFactory
from portal.timeline.models import TimelineEvent
from tickets import services
from tickets.models import Attachment, Message, Rating, Ticket

SECRET = "Customer is on the churn watch list"


def post_note_and_reply(client, world, ticket):
    client.force_login(world.am_a)
    url = reverse("tickets:reply", args=[ticket.pk])
    client.post(url, {"body": SECRET, "kind": "note"})
    client.post(url, {"body": "It left the depot this morning.", "kind": "reply"})


class TestInternalNotes:
    def test_customer_page_never_shows_notes_staff_page_does(self, client, world, ticket):
        post_note_and_reply(client, world, ticket)
        detail = reverse("tickets:detail", args=[ticket.pk])
        assert SECRET in client.get(detail).content.decode()
        client.force_login(world.member_a)
        page = client.get(detail).content.decode()
        assert "It left the depot this morning." in page
        assert SECRET not in page
        assert "Internal note" not in page

    def test_am_viewing_as_the_customer_still_sees_notes_marked_internal(
        self, client, world, ticket
    ):
        post_note_and_reply(client, world, ticket)
        client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
        page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
        assert SECRET in page
        assert "customers never see this" in page

    def test_notes_send_no_email_and_replies_carry_no_notes(
        self, client, world, ticket, mailoutbox, django_capture_on_commit_callbacks
    ):
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            post_note_and_reply(client, world, ticket)
        assert [m.to for m in mailoutbox] == [[world.member_a.email]]
        assert SECRET not in mailoutbox[0].body
        assert "It left the depot" in mailoutbox[0].body

    def test_notes_stay_off_the_timeline_and_the_customer_thread(self, client, world, ticket):
        post_note_and_reply(client, world, ticket)
        assert not TimelineEvent.objects.filter(title__contains=SECRET).exists()
        assert not TimelineEvent.objects.filter(body__contains=SECRET).exists()
        bodies = Message.objects.visible_to(world.member_a).values_list("body", flat=True)
        assert SECRET not in bodies
        client.force_login(world.member_a)
        assert SECRET not in client.get(reverse("home")).content.decode()

    def test_a_customer_cannot_write_an_internal_note(self, client, world, ticket):
        client.force_login(world.member_a)
        client.post(reverse("tickets:reply", args=[ticket.pk]), {"body": "psst", "kind": "note"})
        assert Message.objects.get(body="psst").is_internal is False
        with pytest.raises(PermissionDenied):
            services.ticket_reply(ticket=ticket, author=world.member_a, body="x", internal=True)


class TestRouting:
    def test_category_routes_to_department_and_agents_see_their_queue(self, client, world):
        billing = services.ticket_create(
            organisation=world.org_b,
            requester=world.member_b,
            subject="Invoice twice",
            category="billing",
            priority="normal",
            body="Charged twice.",
        )
        assert billing.department == "billing"
        client.force_login(world.agent)  # billing agent
        assert client.get(reverse("tickets:detail", args=[billing.pk])).status_code == 200
        queue = client.get(reverse("tickets:queue")).content.decode()
        assert "Invoice twice" in queue

    def test_rerouting_takes_the_ticket_out_of_the_agents_queue(self, client, world):
        billing = services.ticket_create(
            organisation=world.org_b,
            requester=world.member_b,
            subject="Invoice twice",
            category="billing",
            priority="normal",
            body="x",
        )
        services.ticket_triage(
            ticket=billing, by=world.admin, assignee=None, department="sales", priority="normal"
        )
        client.force_login(world.agent)
        assert client.get(reverse("tickets:detail", args=[billing.pk])).status_code == 404

    def test_only_staff_can_be_assignees(self, world, ticket):
        with pytest.raises(ValidationError):
            services.ticket_triage(
                ticket=ticket,
                by=world.am_a,
                assignee=world.member_a,
                department="logistics",
                priority="normal",
            )


class TestStatusAndRating:
    def test_customer_resolves_rates_and_can_change_the_rating(self, client, world, ticket):
        client.force_login(world.member_a)
        client.post(reverse("tickets:status", args=[ticket.pk]), {"status": "resolved"})
        rate = reverse("tickets:rate", args=[ticket.pk])
        assert client.post(rate, {"csat": 2, "effort": 1, "comment": "Slow"}).status_code == 302
        assert client.post(rate, {"csat": 4, "effort": 4}).status_code == 302
        rating = Rating.objects.get(ticket=ticket)
        assert (rating.csat, rating.effort, rating.rated_by) == (4, 4, world.member_a)

    def test_rating_an_open_ticket_is_refused(self, world, ticket):
        with pytest.raises(ValidationError):
            services.ticket_rate(ticket=ticket, by=world.member_a, csat=5, effort=5)

    def test_out_of_range_scores_name_the_field(self, client, world, ticket):
        client.force_login(world.member_a)
        client.post(reverse("tickets:status", args=[ticket.pk]), {"status": "resolved"})
        response = client.post(reverse("tickets:rate", args=[ticket.pk]), {"csat": 9, "effort": 3})
        assert response.status_code == 400
        assert "Select a valid choice. 9 is not one of the available choices." in (
            response.content.decode()
        )
        assert not Rating.objects.exists()

    def test_customer_cannot_put_a_ticket_on_hold(self, world, ticket):
        with pytest.raises(ValidationError):
            services.ticket_set_status(ticket=ticket, by=world.member_a, status="waiting")
        assert Ticket.objects.get(pk=ticket.pk).status == "new"

    def test_closed_ticket_takes_no_more_replies(self, world, ticket):
        services.ticket_set_status(ticket=ticket, by=world.am_a, status="closed")
        with pytest.raises(ValidationError):
            services.ticket_reply(ticket=ticket, author=world.member_a, body="One more thing")


class TestAttachments:
    def test_upload_and_download_through_the_policy(self, client, world):
        client.force_login(world.member_a)
        pdf = SimpleUploadedFile("proof.pdf", b"%PDF-1.7 proof of delivery", "application/pdf")
        response = client.post(
            reverse("tickets:create"),
            {
                "subject": "Damaged box",
                "category": "delivery",
                "priority": "high",
                "body": "See the photo.",
                "attachments": [pdf],
            },
        )
        assert response.status_code == 302
        attachment = Attachment.objects.get()
        assert "static" not in attachment.file.path
        assert "proof" not in attachment.file.name  # stored under a random name
        download = client.get(reverse("tickets:attachment", args=[attachment.pk]))
        assert b"".join(download.streaming_content) == b"%PDF-1.7 proof of delivery"
        assert 'attachment; filename="proof.pdf"' in download["Content-Disposition"]
        client.force_login(world.member_b)
        assert client.get(reverse("tickets:attachment", args=[attachment.pk])).status_code == 404

    @pytest.mark.parametrize(
        ("name", "content", "error"),
        [
            ("run.exe", b"MZ...", "files of this type are not accepted"),
            ("fake.pdf", b"<html>not a pdf", "does not contain what its name says"),
            ("notes.txt", b"\x00\x01binary", "is not a text file"),
        ],
    )
    def test_bad_files_are_refused_with_a_reason_and_nothing_is_saved(
        self, client, world, name, content, error
    ):
        client.force_login(world.member_a)
        response = client.post(
            reverse("tickets:create"),
            {
                "subject": "With a file",
                "category": "other",
                "priority": "low",
                "body": "x",
                "attachments": [SimpleUploadedFile(name, content)],
            },
        )
        assert response.status_code == 400
        assert error in response.content.decode()
        assert not Ticket.objects.exists()

    def test_too_large_files_are_refused(self, client, world, settings):
        settings.TICKET_ATTACHMENT_MAX_BYTES = 10
        client.force_login(world.member_a)
        response = client.post(
            reverse("tickets:reply", args=[self._ticket(world).pk]),
            {"body": "x", "attachments": [SimpleUploadedFile("a.txt", b"hello world, long")]},
        )
        assert response.status_code == 400
        assert "is larger than 10" in response.content.decode()
        assert not Message.objects.filter(body="x").exists()

    def _ticket(self, world):
        return services.ticket_create(
            organisation=world.org_a,
            requester=world.member_a,
            subject="s",
            category="other",
            priority="low",
            body="b",
        )


class TestClosingTheLoop:
    def test_done_improvement_tells_each_affected_customer(
        self, client, world, mailoutbox, django_capture_on_commit_callbacks
    ):
        tickets = [
            services.ticket_create(
                organisation=org,
                requester=requester,
                subject=f"Late delivery {org.name}",
                category="delivery",
                priority="normal",
                body="Late again.",
            )
            for org, requester in [(world.org_a, world.member_a), (world.org_b, world.member_b)]
        ]
        for ticket in tickets:
            services.ticket_triage(
                ticket=ticket,
                by=world.admin,
                assignee=None,
                department="logistics",
                priority="normal",
                feedback_department="logistics",
                feedback_note="Carrier misses Tuesday slots",
            )
        client.force_login(world.admin)
        response = client.post(
            reverse("tickets:improvement_create"),
            {
                "department": "logistics",
                "title": "New carrier for Tuesday rounds",
                "tickets": [t.pk for t in tickets],
            },
        )
        improvement_url = response["Location"]
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                improvement_url, {"status": "done", "what_changed": "Tuesday rounds moved."}
            )
        assert sorted(m.to[0] for m in mailoutbox) == sorted(
            [world.member_a.email, world.member_b.email]
        )
        assert "Tuesday rounds moved." in mailoutbox[0].body
        for org in (world.org_a, world.org_b):
            assert TimelineEvent.objects.filter(organisation=org, kind="improvement").count() == 1
        client.force_login(world.member_b)
        assert "New carrier for Tuesday rounds" in client.get(reverse("home")).content.decode()

    def test_done_needs_a_message_for_the_customers(self, client, world):
        client.force_login(world.admin)
        from tickets.models import Improvement

        improvement = Improvement.objects.create(department="product", title="x")
        response = client.post(
            reverse("tickets:improvement", args=[improvement.pk]), {"status": "done"}
        )
        assert response.status_code == 400
        assert "Say what changed" in response.content.decode()
        improvement.refresh_from_db()
        assert improvement.status == "open"

    def test_only_visible_flagged_tickets_can_be_linked(self, world):
        ticket = services.ticket_create(
            organisation=world.org_b,
            requester=world.member_b,
            subject="x",
            category="delivery",
            priority="low",
            body="x",
        )
        Ticket.objects.filter(pk=ticket.pk).update(feedback_department="logistics")
        with pytest.raises(ValidationError):
            services.improvement_create(
                by=world.am_a, department="logistics", title="t", ticket_ids=[ticket.pk]
            )


def test_insights_count_categories_sla_and_csat_per_month(client, world):
    for category in ["delivery", "delivery", "billing"]:
        services.ticket_create(
            organisation=world.org_a,
            requester=world.member_a,
            subject=category,
            category=category,
            priority="normal",
            body="x",
        )
    rated = Ticket.objects.filter(category="billing").get()
    services.ticket_reply(ticket=rated, author=world.am_a, body="Done")
    services.ticket_set_status(ticket=rated, by=world.member_a, status="resolved")
    services.ticket_rate(ticket=rated, by=world.member_a, csat=4, effort=2)
    from tickets.selectors import department_insights

    months = department_insights(user=world.admin, department="")["months"]
    assert len(months) == 1
    month = months[0]
    assert month["total"] == 3
    assert month["categories"] == {"delivery": 2, "billing": 1}
    assert (month["met"], month["breached"], month["attainment"]) == (1, 0, 100)
    assert (month["csat"], month["effort"], month["ratings"]) == (4, 2, 1)
    assert department_insights(user=world.am_b, department="")["months"] == []


def test_am_of_a_new_ticket_gets_an_email(world, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_create(
            organisation=world.org_a,
            requester=world.member_a,
            subject="Need help",
            category="other",
            priority="high",
            body="x",
        )
    assert [m.to for m in mailoutbox] == [[world.am_a.email]]
    assert "New ticket from Alpha Clinic" in mailoutbox[0].subject


def test_a_requester_of_another_organisation_cannot_open_a_ticket_there(world):
    with pytest.raises(PermissionDenied):
        services.ticket_create(
            organisation=world.org_a,
            requester=world.member_b,
            subject="x",
            category="other",
            priority="low",
            body="x",
        )
    assert not Ticket.objects.exists()


def test_a_staff_user_can_be_made_an_assignee(world, ticket):
    agent = UserFactory(kind="support_agent", department="logistics")
    services.ticket_triage(
        ticket=ticket, by=world.am_a, assignee=agent, department="logistics", priority="normal"
    )
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent


def test_staff_resolving_asks_the_customer_for_a_rating(
    world, ticket, mailoutbox, django_capture_on_commit_callbacks
):
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(ticket=ticket, by=world.am_a, status="resolved")
    assert [m.to for m in mailoutbox] == [[world.member_a.email]]
    assert "How satisfied are you" in mailoutbox[0].body
    assert mailoutbox[0].body.count("/tickets/rate/") == 5  # one link per score
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.ticket_set_status(ticket=ticket, by=world.member_a, status="open")
        services.ticket_set_status(ticket=ticket, by=world.member_a, status="resolved")
    assert mailoutbox == []  # the customer resolved it themselves


def test_the_all_tab_lists_open_and_done_tickets_for_customer_and_staff(client, world, ticket):
    done = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Invoice copy",
        category="billing",
        priority="normal",
        body="Please resend.",
    )
    services.ticket_set_status(ticket=done, by=world.member_a, status="resolved")
    for user, url in (
        (world.member_a, reverse("tickets:list")),
        (world.am_a, reverse("tickets:queue")),
    ):
        client.force_login(user)
        page = client.get(url, {"status": "all"}).content.decode()
        assert ticket.subject in page, user
        assert done.subject in page, user
        assert done.subject not in client.get(url).content.decode()  # the default: open ones


def test_a_ticket_the_customer_closed_before_any_staff_reply_is_not_counted_as_met(world):
    from tickets.choices import SlaState
    from tickets.selectors import department_insights, ticket_get

    answered, unanswered = (
        services.ticket_create(
            organisation=world.org_a,
            requester=world.member_a,
            subject=subject,
            category="billing",
            priority="normal",
            body="x",
        )
        for subject in ("answered", "unanswered")
    )
    services.ticket_reply(ticket=answered, author=world.am_a, body="Done")
    for resolved in (answered, unanswered):
        services.ticket_set_status(ticket=resolved, by=world.member_a, status="resolved")
    assert ticket_get(user=world.am_a, pk=unanswered.pk).sla_state == SlaState.NOT_JUDGED
    assert ticket_get(user=world.am_a, pk=answered.pk).sla_state == SlaState.MET
    month = department_insights(user=world.admin, department="")["months"][0]
    assert (month["met"], month["breached"], month["attainment"]) == (1, 0, 100)
    services.ticket_set_status(ticket=answered, by=world.am_a, status="open")  # reopened
    month = department_insights(user=world.admin, department="")["months"][0]
    assert (month["met"], month["attainment"]) == (0, None)  # only the unanswered one is done


def test_the_rating_form_is_a_fieldset_per_question_with_a_label_per_score(client, world, ticket):
    services.ticket_reply(ticket=ticket, author=world.am_a, body="Found it.")
    services.ticket_set_status(ticket=ticket, by=world.am_a, status="resolved")
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    rating = page[page.index('data-testid="rating"') :]
    assert rating.count("<fieldset") == 2
    assert "<legend>How satisfied are you with how this was handled?</legend>" in rating
    for score in range(1, 6):
        assert f'<label for="id_csat_{score - 1}"><input' in rating
        assert f"<span>{score}</span>" in rating
    assert 'aria-describedby="id_csat_helptext"' in rating
    assert 'id="id_csat_helptext"' in rating
    assert '<label for="">' not in page


def test_a_staff_post_that_does_not_say_which_composer_is_an_internal_note(client, world, ticket):
    url = reverse("tickets:reply", args=[ticket.pk])
    client.force_login(world.am_a)
    client.post(url, {"body": "Unsure which box this was."})
    client.post(url, {"body": "We are on it.", "kind": "reply"})
    client.force_login(world.member_a)
    client.post(url, {"body": "Thanks! (a customer cannot write notes)", "kind": "note"})
    kinds = dict(Message.objects.filter(ticket=ticket).values_list("body", "is_internal"))
    assert kinds["Unsure which box this was."] is True
    assert kinds["We are on it."] is False
    assert kinds["Thanks! (a customer cannot write notes)"] is False


def test_staff_get_two_composers_customers_one(client, world, ticket):
    client.force_login(world.am_a)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="reply-composer"' in page
    assert 'data-testid="note-composer"' in page
    assert ">Send reply</button>" in page
    assert ">Add internal note</button>" in page
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="reply-composer"' in page
    assert "note-composer" not in page
    assert "Internal note" not in page


def test_staff_insert_a_canned_reply_filled_in_for_the_ticket(client, world, ticket):
    from tickets.models import CannedReply

    canned = CannedReply.objects.create(
        title="Parcel traced",
        body="Dear {customer_name}, about {ticket_number} ({ticket_subject}): "
        "we traced it. {agent_name}, for {am_name} at {organisation}'s account team.",
    )
    CannedReply.objects.create(title="Billing only", body="x", department="billing")
    url = reverse("tickets:detail", args=[ticket.pk])
    client.force_login(world.am_a)
    page = client.get(url).content.decode()
    assert f'<option value="{canned.pk}">Parcel traced</option>' in page
    assert "Billing only" not in page  # a delivery ticket: logistics, not billing
    filled = client.get(url, {"canned": canned.pk}).context["reply_form"].initial["body"]
    assert filled == (
        f"Dear {world.member_a.full_name}, about {ticket.reference} (Parcel missing): we traced "
        f"it. {world.am_a.full_name}, for {world.am_a.full_name} at Alpha Clinic's account team."
    )
    assert Message.objects.filter(ticket=ticket).count() == 1  # nothing sent: staff edit it
    client.force_login(world.member_a)
    page = client.get(url, {"canned": canned.pk}).content.decode()
    assert "we traced it" not in page  # customers are not offered staff texts


def test_a_canned_reply_with_an_unknown_variable_is_refused_with_the_known_ones(db):
    from tickets.models import CannedReply

    with pytest.raises(ValidationError) as refused:
        CannedReply(title="Typo", body="Hello {custmer_name}").full_clean()
    message = " ".join(refused.value.message_dict["body"])
    assert "Unknown variable(s): {custmer_name}" in message
    assert "{customer_name}" in message


def test_merging_a_duplicate_keeps_both_threads_tells_the_customer_and_counts_it_once(
    client, world, ticket, mailoutbox, django_capture_on_commit_callbacks
):
    from tickets.choices import SlaState
    from tickets.selectors import department_insights, ticket_get

    duplicate = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Parcel still missing",
        category="delivery",
        priority="normal",
        body="Hello again?",
    )
    client.force_login(world.am_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("tickets:merge", args=[duplicate.pk]), {"into": ticket.pk})
    assert response.url == ticket.get_absolute_url()
    duplicate.refresh_from_db()
    assert (duplicate.merged_into, duplicate.status) == (ticket, "closed")
    assert Message.objects.filter(ticket=duplicate, body="Hello again?").exists()  # kept
    survivor = client.get(ticket.get_absolute_url()).content.decode()
    assert duplicate.reference in survivor
    [told] = mailoutbox
    assert told.to == [world.member_a.email]
    assert ticket.reference in told.body
    client.force_login(world.member_a)
    page = client.get(duplicate.get_absolute_url()).content.decode()
    assert f'Merged into <a href="{ticket.get_absolute_url()}">' in page
    with pytest.raises(ValidationError):  # the conversation goes on in the survivor
        services.ticket_reply(ticket=duplicate, author=world.member_a, body="Still here?")
    assert ticket_get(user=world.am_a, pk=duplicate.pk).sla_state == SlaState.NOT_JUDGED
    assert ticket_get(user=world.am_a, pk=ticket.pk).first_responded_at is None  # its SLA runs
    month = department_insights(user=world.admin, department="")["months"][0]
    assert (month["met"], month["breached"]) == (0, 0)


def test_only_tickets_of_the_same_organisation_merge(world, ticket):
    theirs = services.ticket_create(
        organisation=world.org_b,
        requester=world.member_b,
        subject="Parcel missing",
        category="delivery",
        priority="normal",
        body="x",
    )
    with pytest.raises(ValidationError):
        services.ticket_merge(duplicate=theirs, into=ticket, by=world.admin)
    with pytest.raises(PermissionDenied):  # AM of A does not see B's ticket
        services.ticket_merge(duplicate=theirs, into=ticket, by=world.am_a)
    with pytest.raises(PermissionDenied):
        services.ticket_merge(duplicate=ticket, into=ticket, by=world.member_a)
    theirs.refresh_from_db()
    assert theirs.merged_into is None


def test_an_agent_lands_on_the_queue_and_finds_tickets_by_reference_subject_or_mine(
    client, world, ticket
):
    other = services.ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="Label printer jammed",
        category="delivery",
        priority="normal",
        body="x",
    )
    Ticket.objects.filter(pk=other.pk).update(assignee=world.am_a)
    client.force_login(world.am_a)
    assert client.get(reverse("home")).status_code == 200  # an AM: My accounts
    queue = reverse("tickets:queue")

    def found(**query) -> set[str]:
        rows = client.get(queue, query).context["page"].object_list
        return {row.subject for row in rows}

    assert found(q=ticket.reference) == {"Parcel missing"}
    assert found(q=str(ticket.pk)) == {"Parcel missing"}
    assert found(q="printer") == {"Label printer jammed"}
    assert found(q="alpha") == {"Parcel missing", "Label printer jammed"}
    assert found(assigned="mine") == {"Label printer jammed"}
    assert found(assigned="unassigned") == {"Parcel missing"}
    agent = UserFactory(kind="support_agent", department="logistics")
    client.force_login(agent)
    response = client.get(reverse("home"))
    assert response.url == queue
    assert found() == {"Parcel missing", "Label printer jammed"}  # their department's
