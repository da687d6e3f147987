"""The frame every page pays: navigation rendered once per process per role, page and
language (ui's `{% memo %}`), and never one person's frame shown to another."""

import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from accounts.choices import MembershipRole
from accounts.tests.factories import MembershipFactory, OrganisationFactory


def nav_of(page: str) -> str:
    return re.search(r'<nav class="topnav".*?</nav>', page, re.S).group(0)


def current_link(page: str) -> str:
    return re.search(r'<a href="([^"]*)" aria-current="page"', nav_of(page)).group(1)


def test_a_memo_block_sees_only_its_arguments():
    template = Template("{% load ui %}{% memo shown=a %}[{{ shown }}|{{ b }}]{% endmemo %}")
    assert template.render(Context({"a": "x", "b": "secret"})) == "[x|]"


def test_a_memo_block_is_rendered_once_per_arguments_and_language():
    template = Template(
        "{% load ui i18n %}{% memo v=a %}{{ v }}{% translate 'Log out' %}{% endmemo %}"
    )
    calls = []

    class Counted(str):
        def __str__(self):  # rendering the value counts as rendering the block
            calls.append(1)
            return super().__str__()

    with translation.override("en"):
        first = template.render(Context({"a": Counted("1")}))
        assert template.render(Context({"a": Counted("1")})) == first
        assert len(calls) == 1
        assert template.render(Context({"a": "2"})) == "2Log out"
    with translation.override("de"):
        assert template.render(Context({"a": "1"})) == "1Abmelden"


def test_memo_refuses_positional_arguments():
    from django.template import TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError):
        Template("{% load ui %}{% memo a %}{% endmemo %}")


@pytest.mark.django_db
def test_each_person_sees_the_navigation_of_their_own_role(client, world):
    """The same page for people of other roles in one process: the kept navigation of one
    is never shown to the next."""
    orders = reverse("portal:orders")
    members = reverse("accounts:members")
    client.force_login(world.customer_admin_a)
    assert f'href="{members}"' in nav_of(client.get(orders).content.decode())
    client.force_login(world.member_a)
    assert f'href="{members}"' not in nav_of(client.get(orders).content.decode())

    queue = reverse("tickets:queue")
    handoff = reverse("accounts:team_handoff")
    renewals = reverse("portal:renewals")
    client.force_login(world.admin)
    admin_nav = nav_of(client.get(queue).content.decode())
    assert f'href="{handoff}"' in admin_nav
    assert f'href="{reverse("admin:index")}"' in admin_nav
    client.force_login(world.am_a)
    am_nav = nav_of(client.get(queue).content.decode())
    assert f'href="{handoff}"' not in am_nav
    assert f'href="{renewals}"' in am_nav
    client.force_login(world.agent)
    agent_nav = nav_of(client.get(queue).content.decode())
    assert f'href="{renewals}"' not in agent_nav


@pytest.mark.django_db
def test_the_navigation_marks_the_page_shown_in_the_readers_language(client, world):
    client.force_login(world.member_a)
    orders, timeline = reverse("portal:orders"), reverse("portal:timeline")
    assert current_link(client.get(orders).content.decode()) == orders
    assert current_link(client.get(timeline).content.decode()) == timeline
    german = client.get(timeline, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert current_link(german) == timeline
    assert ">Bestellungen</a>" in nav_of(german)
    assert ">Orders</a>" in nav_of(client.get(timeline).content.decode())


@pytest.mark.django_db
def test_staff_viewing_as_a_customer_get_the_customers_navigation(client, world):
    client.force_login(world.am_a)
    client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    nav = nav_of(client.get(reverse("portal:orders")).content.decode())
    assert f'href="{reverse("accounts:members")}"' in nav  # staff in view-as manage members
    assert f'href="{reverse("portal:work_queue")}"' not in nav


def frame_queries(client, django_assert_num_queries, count: int) -> str:
    """A page with nothing of its own (not found): what is left is the frame."""
    with django_assert_num_queries(count):
        response = client.get("/no-such-page/")
    assert response.status_code == 404
    return response.content.decode()


@pytest.mark.django_db
def test_a_customers_frame_reads_session_person_and_organisations_once(
    client, world, django_assert_num_queries
):
    """The session with its person, then their organisations with their role in each (the
    one shown, the switcher, the Colleagues link): two queries, however many organisations."""
    client.force_login(world.customer_admin_a)
    page = frame_queries(client, django_assert_num_queries, 2)
    assert f'href="{reverse("accounts:members")}"' in page
    assert 'id="org-switch"' not in page

    for name in ("Charlie Care", "Delta Labs"):
        organisation = OrganisationFactory(name=name)
        MembershipFactory(user=world.customer_admin_a, organisation=organisation)
    page = frame_queries(client, django_assert_num_queries, 2)
    options = re.findall(r'<option value="(\d+)" ?(selected)?>([^<]*)</option>', page)
    assert [name for _, _, name in options] == [
        "Alpha Clinic", "Charlie Care", "Delta Labs"
    ]  # fmt: skip
    assert [pk for pk, selected, _ in options if selected] == [str(world.org_a.pk)]


@pytest.mark.django_db
def test_the_colleagues_link_follows_the_role_in_the_organisation_shown(client, world):
    MembershipFactory(user=world.member_a, organisation=world.org_b, role=MembershipRole.ADMIN)
    client.force_login(world.member_a)
    members = f'href="{reverse("accounts:members")}"'
    switch = reverse("accounts:organisation_switch")
    client.post(switch, {"organisation": world.org_a.pk})
    assert members not in nav_of(client.get(reverse("portal:orders")).content.decode())
    client.post(switch, {"organisation": world.org_b.pk})
    assert members in nav_of(client.get(reverse("portal:orders")).content.decode())


@pytest.mark.django_db
def test_a_staff_members_frame_reads_session_person_and_device(
    client, world, django_assert_num_queries
):
    client.force_login(world.am_a)
    frame_queries(client, django_assert_num_queries, 1)


@pytest.mark.django_db
def test_the_frames_organisation_list_is_the_selectors(world):
    """The SQL built once per process reads what the queryset does, for anyone."""
    from accounts.selectors import customer_organisation_list, customer_organisations

    MembershipFactory(user=world.member_a, organisation=world.org_b, role=MembershipRole.ADMIN)
    third = MembershipFactory(user=world.member_a, organisation=OrganisationFactory(name="Aa"))
    third.is_active = False
    third.save(update_fields=["is_active"])
    for user in (world.member_a, world.customer_admin_a, world.member_b, world.am_a):
        rows = customer_organisation_list(user=user)
        expected = customer_organisations(user=user)
        assert [(o.pk, o.name, o.viewer_id, o.viewer_role) for o in rows] == [
            (o.pk, o.name, o.viewer_id, o.viewer_role) for o in expected
        ]
    assert [o.name for o in customer_organisation_list(user=world.member_a)] == [
        "Alpha Clinic", "Bravo Hospital"
    ]  # fmt: skip


@pytest.mark.django_db
def test_an_expired_session_is_not_read(client, world):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Session

    client.force_login(world.member_a)
    assert client.get(reverse("portal:orders")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("portal:orders"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def _fields(user) -> dict:
    return {field.attname: getattr(user, field.attname) for field in user._meta.concrete_fields}


@pytest.mark.django_db
def test_the_person_backend_reads_whom_djangos_reads(world):
    """Every field as the ORM reads it (SQLite's dates, moments and flags too); a person
    deactivated or gone is nobody."""
    from datetime import date

    from django.contrib.auth.backends import ModelBackend

    from accounts.platform.authentication import PersonBackend

    world.am_a.away_until = date(2031, 2, 3)
    world.am_a.save(update_fields=["away_until"])
    ours, djangos = PersonBackend(), ModelBackend()
    for name in ("member_a", "customer_admin_a", "am_a", "agent", "admin"):
        pk = getattr(world, name).pk
        assert _fields(ours.get_user(pk)) == _fields(djangos.get_user(pk))
    assert ours.get_user(world.am_a.pk).away_until == date(2031, 2, 3)
    world.member_b.is_active = False
    world.member_b.save(update_fields=["is_active"])
    assert ours.get_user(world.member_b.pk) is None
    assert ours.get_user(10**9) is None


@pytest.mark.django_db
def test_a_session_signed_in_through_djangos_backend_stays_signed_in(client, world):
    """Sessions made before PersonBackend took over name Django's ModelBackend."""
    from accounts.platform.authentication import DJANGO_MODEL_BACKEND

    client.force_login(world.member_a, backend=DJANGO_MODEL_BACKEND)
    response = client.get(reverse("portal:orders"))
    assert response.status_code == 200
    assert response.wsgi_request.user == world.member_a


@pytest.mark.django_db
def test_the_second_factor_middleware_reads_the_device_django_otp_reads(world):
    """The session's device by SQL built once: the one django-otp would load, and nothing
    for an id that is malformed, unknown or not a device's."""
    from django_otp.models import Device
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.platform.middleware import SecondFactorMiddleware

    device = TOTPDevice.objects.create(user=world.am_a, name="phone", confirmed=True)
    read = SecondFactorMiddleware(lambda request: None)._device_from_persistent_id
    assert read(device.persistent_id).__dict__.keys() == device.__dict__.keys()
    for persistent_id in (
        device.persistent_id,
        f"django_otp.plugins.otp_totp.models.TOTPDevice/{device.pk}",  # the legacy form
        "otp_totp.totpdevice/999999",
        "otp_totp.totpdevice/x",
        "no_such.app/1",
        "nonsense",
    ):
        expected = Device.from_persistent_id(
            SecondFactorMiddleware._normalize_persistent_id(persistent_id)
        )
        assert read(persistent_id) == expected, persistent_id
    assert read(f"accounts.user/{world.am_a.pk}") is None  # django-otp's own raises here


@pytest.mark.django_db
def test_staff_viewing_as_a_customer_are_checked_once_a_request(
    client, world, django_assert_num_queries
):
    """The session with its person and device, the organisation shown and the view-as
    check: the Colleagues link asks the policy nothing more."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(world.am_a)
    device = TOTPDevice.objects.create(user=world.am_a, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    client.post(reverse("accounts:view_as_start", args=[world.org_a.pk]))
    page = frame_queries(client, django_assert_num_queries, 3)
    assert f'href="{reverse("accounts:members")}"' in page
    assert 'data-testid="view-as-banner"' in page


@pytest.mark.django_db
def test_a_page_reads_the_person_not_their_proxies(client, world):
    """Read hundreds of times a page: request.user is the person, not Django's and
    django-otp's lazy proxies of them."""
    from accounts.models import User

    client.force_login(world.member_a)
    response = client.get(reverse("portal:orders"))
    assert type(response.wsgi_request.user) is User
    assert response.wsgi_request.user == world.member_a
    assert response.wsgi_request.user.is_verified() is False  # django-otp's, kept
