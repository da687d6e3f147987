"""Rows the busiest pages render in Python (portal_tags, ticket_tags): what a customer or
a legacy system typed is escaped there as the template engine would escape it."""

from django.urls import reverse

from accounts.tests.test_page_cache import open_ticket

HOSTILE = '<img src=x onerror="alert(1)">'


def test_ticket_rows_escape_what_the_customer_typed(client, world):
    ticket = open_ticket(world, HOSTILE)
    client.force_login(world.member_a)
    page = client.get(reverse("tickets:list")).content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert f'href="{reverse("tickets:detail", args=[ticket.pk])}"' in page


def test_account_rows_escape_the_organisations_name(client, world):
    world.org_a.name = HOSTILE
    world.org_a.save(update_fields=["name"])
    client.force_login(world.am_a)
    page = client.get(reverse("home")).content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert f'action="{reverse("accounts:view_as_start", args=[world.org_a.pk])}"' in page
    assert 'name="csrfmiddlewaretoken" value="' in page


def test_timeline_rows_escape_a_legacy_systems_text(client, world):
    from django.utils import timezone

    from portal.timeline.models import TimelineEvent

    TimelineEvent.objects.create(
        organisation=world.org_a, kind="improvement", at=timezone.now(), title=HOSTILE, body=HOSTILE
    )
    client.force_login(world.member_a)
    page = client.get(reverse("portal:timeline")).content.decode()
    assert HOSTILE not in page
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") == 2
