"""Engagements, commitments, the sponsor promise, the work queue and renewals."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from portal.relationship import health
from portal.relationship import selectors as relationship_selectors
from portal.relationship import services as relationship_services
from portal.relationship.models import Commitment, Engagement, LastContact, SponsorLapse
from portal.tests.relationship import add_sponsor, premium_tier, put_on_tier
from portal.workspace import selectors as workspace_selectors
from tickets.services import ticket_create, ticket_reply


def today():
    return timezone.localdate()


def days_ago(n: int):
    return timezone.now() - timedelta(days=n)


def review(world, organisation=None, **fields):
    values = {
        "kind": "qbr",
        "on": today() - timedelta(days=3),
        "summary": "We reviewed deliveries and the new price list.",
        "next_steps": "Trial the weekly stock report.",
        "internal_notes": "Buyer is unhappy with pricing; renewal at risk.",
        **fields,
    }
    am = world.am_a if organisation in (None, world.org_a) else world.am_b
    return relationship_services.engagement_record(
        by=am, organisation=organisation or world.org_a, **values
    )


def promise(world, organisation=None, due_in=7, **fields):
    organisation = organisation or world.org_a
    am = world.am_a if organisation == world.org_a else world.am_b
    return relationship_services.commitment_create(
        by=am,
        organisation=organisation,
        title=fields.pop("title", "Send the weekly stock report"),
        due_on=today() + timedelta(days=due_in),
        owner=am,
        **fields,
    )


# --- Customers see their own reviews and commitments, never notes, never another's ------------


def test_customer_reads_own_reviews_without_internal_notes(client, world):
    review(world, attendees=[world.am_a, world.member_a], other_attendees="Dr Lee")
    review(world, world.org_b, summary="Bravo's own review", internal_notes="Bravo secret")
    client.force_login(world.member_a)
    page = client.get(reverse("portal:reviews")).content.decode()
    assert "We reviewed deliveries" in page
    assert "Trial the weekly stock report." in page
    assert "Anna Manager" in page
    assert "Dr Lee" in page
    assert "renewal at risk" not in page
    assert "Bravo" not in page


def test_staff_viewing_as_the_customer_see_no_internal_notes(client, world):
    review(world)
    client.force_login(world.am_a)
    client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    page = client.get(reverse("portal:reviews")).content.decode()
    assert "We reviewed deliveries" in page
    assert "renewal at risk" not in page


def test_cancelled_engagements_are_hidden_from_customers(client, world):
    planned = review(world, status="planned", on=today() + timedelta(days=10), summary="")
    relationship_services.engagement_update(by=world.am_a, engagement=planned, status="cancelled")
    client.force_login(world.member_a)
    assert 'data-testid="review"' not in client.get(reverse("portal:reviews")).content.decode()


def test_customer_sees_own_commitments_with_overdue_flagged(client, world):
    promise(world, title="Fix the invoice address", due_in=-2)
    promise(world, title="Quarterly usage report", due_in=20)
    promise(world, world.org_b, title="Bravo's promise")
    client.force_login(world.member_a)
    page = client.get(reverse("portal:commitments")).content.decode()
    assert "Fix the invoice address" in page
    assert "Quarterly usage report" in page
    assert page.count('data-testid="commitment-overdue"') == 1
    assert "Bravo" not in page
    home = client.get(reverse("home")).content.decode()
    assert "Fix the invoice address" in home
    assert "Overdue since" in home


def test_customer_home_shows_the_next_review_from_the_cadence(client, world):
    put_on_tier(world.org_a, premium_tier(), since=days_ago(200))
    review(world, on=today() - timedelta(days=30))  # next QBR due in 60 days
    client.force_login(world.member_a)
    home = client.get(reverse("home")).content.decode()
    section = home.split('data-testid="home-review"')[1].split("</section>")[0]
    due = today() + timedelta(days=60)
    assert "Quarterly business review" in section
    assert f'due by <time datetime="{due:%Y-%m-%d}"' in section


def test_a_booked_review_is_shown_instead_of_the_due_date(world):
    put_on_tier(world.org_a, premium_tier(), since=days_ago(200))
    review(world, status="planned", on=today() + timedelta(days=4), summary="")
    upcoming = relationship_selectors.upcoming_review(organisation=world.org_a)
    assert upcoming == {
        "kind": "Quarterly business review",
        "on": today() + timedelta(days=4),
        "booked": True,
    }


def test_customers_and_other_account_managers_cannot_reach_staff_pages(client, world):
    engagement = review(world)
    commitment = promise(world)
    urls = [
        reverse("portal:account", args=[world.org_a.pk]),
        reverse("portal:engagement_edit", args=[engagement.pk]),
        reverse("portal:commitment_edit", args=[commitment.pk]),
    ]
    for user in (world.member_a, world.am_b, world.agent):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, (user, url)


# --- Writing: staff only, per-field errors, nothing half-written ------------------------------


def test_account_page_shows_internal_notes_and_commitments_to_the_team(client, world):
    review(world)
    promise(world, title="Call back about the rebate", due_in=-1)
    client.force_login(world.am_a)
    page = client.get(reverse("portal:account", args=[world.org_a.pk])).content.decode()
    assert "renewal at risk" in page
    assert "Call back about the rebate" in page


def test_recording_an_engagement_through_the_form(client, world):
    client.force_login(world.am_a)
    url = reverse("portal:engagement_create", args=[world.org_a.pk])
    response = client.post(
        url,
        {
            "kind": "health_check",
            "status": "held",
            "on": f"{today():%Y-%m-%d}",
            "attendees": [world.am_a.pk, world.member_a.pk],
            "summary": "All good.",
        },
    )
    assert response.status_code == 302
    engagement = Engagement.objects.get()
    assert set(engagement.attendees.all()) == {world.am_a, world.member_a}
    assert LastContact.objects.get(organisation=world.org_a).at.date() == today()
    assert AuditEvent.objects.filter(action="record.created", actor=world.am_a).exists()


def test_held_engagement_in_the_future_is_refused_per_field(client, world):
    client.force_login(world.am_a)
    url = reverse("portal:engagement_create", args=[world.org_a.pk])
    response = client.post(
        url, {"kind": "qbr", "status": "held", "on": f"{today() + timedelta(days=2):%Y-%m-%d}"}
    )
    assert response.status_code == 400
    assert "cannot be in the future" in response.content.decode()
    assert not Engagement.objects.exists()


def test_attendees_from_another_organisation_are_refused(world):
    with pytest.raises(ValidationError) as error:
        review(world, attendees=[world.member_b])
    assert "attendees" in error.value.message_dict
    assert not Engagement.objects.exists()


def test_only_the_account_team_writes(world):
    with pytest.raises(PermissionDenied):
        relationship_services.commitment_create(
            by=world.am_b, organisation=world.org_a, title="x", due_on=today()
        )
    with pytest.raises(PermissionDenied):
        relationship_services.commitment_create(
            by=world.member_a, organisation=world.org_a, title="x", due_on=today()
        )


def test_a_customer_cannot_own_a_commitment(world):
    with pytest.raises(ValidationError) as error:
        relationship_services.commitment_create(
            by=world.am_a, organisation=world.org_a, title="x", due_on=today(), owner=world.member_a
        )
    assert "owner" in error.value.message_dict


def test_closing_a_commitment_records_when_and_reopening_clears_it(world):
    commitment = promise(world, due_in=-1)
    done = relationship_services.commitment_update(
        by=world.am_a, commitment=commitment, status="done"
    )
    assert done.closed_at is not None
    assert not relationship_selectors.overdue_commitments(user=world.am_a).exists()
    reopened = relationship_services.commitment_update(
        by=world.am_a, commitment=commitment, status="open"
    )
    assert reopened.closed_at is None


def test_staff_edit_an_engagement_and_close_a_commitment_from_the_account(client, world):
    engagement, commitment = review(world), promise(world)
    client.force_login(world.am_a)
    edited = client.post(
        reverse("portal:engagement_edit", args=[engagement.pk]),
        {"kind": "qbr", "status": "held", "on": f"{engagement.on:%Y-%m-%d}",
         "attendees": [world.am_a.pk, world.member_a.pk], "summary": "Prices agreed."},
    )  # fmt: skip
    assert edited.status_code == 302
    engagement.refresh_from_db()
    assert engagement.summary == "Prices agreed."
    assert set(engagement.attendees.all()) == {world.am_a, world.member_a}

    refused = client.post(
        reverse("portal:engagement_edit", args=[engagement.pk]),
        {"kind": "qbr", "status": "held", "on": f"{today() + timedelta(days=2):%Y-%m-%d}"},
    )
    assert refused.status_code == 400
    assert "cannot be in the future" in refused.content.decode()
    engagement.refresh_from_db()
    assert engagement.on < today()  # nothing half-written

    closed = client.post(
        reverse("portal:commitment_edit", args=[commitment.pk]),
        {"title": commitment.title, "owner": world.am_a.pk,
         "due_on": f"{commitment.due_on:%Y-%m-%d}", "status": "done"},
    )  # fmt: skip
    assert closed.status_code == 302
    commitment.refresh_from_db()
    assert commitment.status == "done"
    assert commitment.closed_at is not None


def test_commitment_form_errors_are_per_field(client, world):
    client.force_login(world.am_a)
    url = reverse("portal:commitment_create", args=[world.org_a.pk])
    response = client.post(url, {"title": "", "due_on": "not a date"})
    assert response.status_code == 400
    assert response.content.decode().count('class="field-error"') == 2
    assert not Commitment.objects.exists()


# --- Last contact is stored -------------------------------------------------------------------


def test_staff_replies_and_held_engagements_set_the_last_contact(world):
    ticket = ticket_create(
        organisation=world.org_a,
        requester=world.member_a,
        subject="?",
        category="delivery",
        priority="normal",
        body="?",
    )
    assert not LastContact.objects.exists()  # a customer's message is not our contact
    ticket_reply(ticket=ticket, author=world.am_a, body="Internal", internal=True)
    assert not LastContact.objects.exists()
    ticket_reply(ticket=ticket, author=world.am_a, body="On it")
    replied = LastContact.objects.get(organisation=world.org_a).at
    review(world, on=today() - timedelta(days=20))  # older: keeps the reply
    assert LastContact.objects.get(organisation=world.org_a).at == replied
    LastContact.objects.all().delete()
    assert relationship_services.last_contact_refresh() == 1
    assert LastContact.objects.get(organisation=world.org_a).at == replied


# --- The executive-sponsor promise ------------------------------------------------------------


@pytest.fixture
def promised(world):
    """A's tier promises a sponsor in touch every 30 days; the sponsor took A 40 days ago."""
    put_on_tier(world.org_a, premium_tier(), since=days_ago(100))
    world.sponsor = add_sponsor(world.org_a, since=days_ago(40))
    return world


def scan(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return relationship_services.sponsor_promise_scan()


def test_sponsor_warning_fires_once_when_the_promise_lapsed(
    promised, mailoutbox, django_capture_on_commit_callbacks
):
    world = promised
    result = scan(django_capture_on_commit_callbacks)
    assert result == {"lapsed": 1, "warned": 1, "ended": 0}
    assert sorted(m.to for m in mailoutbox) == [[world.am_a.email], [world.sponsor.email]]
    assert "Alpha Clinic" in mailoutbox[0].subject
    lapse = SponsorLapse.objects.get()
    assert lapse.due_on == (days_ago(40) + timedelta(days=30)).date()
    assert scan(django_capture_on_commit_callbacks)["warned"] == 0
    assert len(mailoutbox) == 2  # once per lapse and person


def test_no_warning_while_the_sponsor_is_in_touch(
    promised, mailoutbox, django_capture_on_commit_callbacks
):
    review(promised, kind="executive", on=today() - timedelta(days=5), attendees=[promised.sponsor])
    assert scan(django_capture_on_commit_callbacks)["lapsed"] == 0
    assert mailoutbox == []


def test_no_warning_when_the_tier_promises_no_sponsor(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    add_sponsor(world.org_a, since=days_ago(400))  # never in touch, but nothing was promised
    assert scan(django_capture_on_commit_callbacks)["lapsed"] == 0
    assert mailoutbox == []


def test_a_touchpoint_with_the_sponsor_ends_the_lapse(
    client, promised, mailoutbox, django_capture_on_commit_callbacks
):
    world = promised
    scan(django_capture_on_commit_callbacks)
    client.force_login(world.am_a)
    queue = client.get(reverse("portal:work_queue")).content.decode()
    assert "Eve Executive was due to be in touch" in queue
    review(world, kind="executive", on=today(), attendees=[world.sponsor, world.member_a])
    assert SponsorLapse.objects.get().ended_at is not None
    assert scan(django_capture_on_commit_callbacks)["lapsed"] == 0
    assert "Eve Executive was due" not in client.get(reverse("portal:work_queue")).content.decode()
    assert len(mailoutbox) == 2  # the one warning, to the AM and to the sponsor


def test_no_sponsor_named_on_a_promising_tier_warns_the_account_manager(
    world, mailoutbox, django_capture_on_commit_callbacks
):
    put_on_tier(world.org_a, premium_tier(), since=days_ago(45))
    assert scan(django_capture_on_commit_callbacks)["warned"] == 1
    assert mailoutbox[0].to == [world.am_a.email]
    assert "No executive sponsor is named" in mailoutbox[0].body


# --- The work queue and the workspace ---------------------------------------------------------


def test_overdue_reviews_and_commitments_are_in_my_work_queue_only(client, world):
    put_on_tier(world.org_a, premium_tier(), since=days_ago(120))  # QBR due 30 days ago
    put_on_tier(world.org_b, premium_tier(name="Premium B", rank=4), since=days_ago(120))
    promise(world, title="Alpha's late promise", due_in=-3)
    promise(world, world.org_b, title="Bravo's late promise", due_in=-3)
    client.force_login(world.am_a)
    page = client.get(reverse("portal:work_queue")).content.decode()
    reviews = page.split('data-testid="queue-reviews"')[1].split("</section>")[0]
    assert "Alpha Clinic" in reviews
    assert "overdue" in reviews
    assert "Alpha&#x27;s late promise" in page
    assert "Bravo" not in page
    home = client.get(reverse("home")).content.decode()
    stat = re.search(r'data-testid="stat-commitments"><span class="stat-number">(\d+)', home)
    assert stat.group(1) == "1"


def test_a_held_review_takes_the_account_off_the_queue(world):
    put_on_tier(world.org_a, premium_tier(), since=days_ago(120))
    assert list(relationship_selectors.overdue_reviews(user=world.am_a)) == [world.org_a]
    review(world, on=today() - timedelta(days=1))
    assert not relationship_selectors.overdue_reviews(user=world.am_a).exists()


def test_workspace_shows_health_with_its_reasons(client, world):
    health.health_compute()
    client.force_login(world.am_a)
    page = client.get(reverse("home")).content.decode()
    assert 'data-testid="health-score"' in page
    assert "No contact on record" in page
    assert "Bravo" not in page


# --- Renewals ---------------------------------------------------------------------------------


def test_renewal_pipeline_buckets_my_accounts_with_health(client, world):
    world.org_a.renewal_date = today() + timedelta(days=45)
    world.org_a.save()
    world.org_b.renewal_date = today() + timedelta(days=10)
    world.org_b.save()
    health.health_compute()
    buckets = workspace_selectors.renewal_pipeline(user=world.am_a)
    assert [[o.name for o in b["organisations"]] for b in buckets] == [[], ["Alpha Clinic"], []]
    assert buckets[1]["organisations"][0].health.score > 0
    every = workspace_selectors.renewal_pipeline(user=world.admin)
    assert [[o.name for o in b["organisations"]] for b in every] == [
        ["Bravo Hospital"],
        ["Alpha Clinic"],
        [],
    ]
    client.force_login(world.am_a)
    page = client.get(reverse("portal:renewals")).content.decode()
    assert "Alpha Clinic" in page
    assert "Bravo" not in page


def test_the_account_page_names_the_late_sponsor_or_says_none_is_named(
    client, promised, django_capture_on_commit_callbacks, settings
):
    settings.PAGE_CACHE = False  # the page as built, after a write no receiver sees
    world = promised
    scan(django_capture_on_commit_callbacks)
    client.force_login(world.am_a)
    url = reverse("portal:account", args=[world.org_a.pk])
    page = client.get(url).content.decode()
    assert "Eve Executive should have been in touch by" in page
    SponsorLapse.objects.update(sponsor=None)
    page = client.get(url).content.decode()
    assert "no executive sponsor is named, and contact was due by" in page
    assert "should have been in touch" not in page
    client.force_login(world.am_b)  # another account manager: not theirs
    assert client.get(url).status_code == 404
