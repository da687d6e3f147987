"""A session and its person read in one statement (accounts.platform.sessions): Django's
checks still decide who is signed in, whatever the session's row says."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Session, User
from accounts.platform import sessions

pytestmark = pytest.mark.django_db

ORDERS = "portal:orders"


def signed_in(client) -> bool:
    response = client.get(reverse(ORDERS))
    if response.status_code == 302:
        assert response.url.startswith(reverse("accounts:login"))
        return False
    assert response.status_code == 200
    return True


def row_of(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_signed_in_session_is_read_with_its_person_in_one_statement(client, world):
    client.force_login(world.member_a)
    assert row_of(client).user_id == world.member_a.pk
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(ORDERS))
    assert response.wsgi_request.user == world.member_a
    read = [q["sql"] for q in queries.captured_queries if "accounts_user" in q["sql"]]
    assert len(read) == 1  # no read of the person apart
    assert "accounts_session" in read[0]


def test_the_person_read_with_the_session_is_whom_the_orm_reads(client, world):
    """Every field as the ORM reads it (SQLite's dates, moments and flags too)."""
    world.am_a.away_until = timezone.localdate() + timedelta(days=3)
    world.am_a.last_login = timezone.now()
    world.am_a.save(update_fields=["away_until", "last_login"])
    for person in (world.member_a, world.am_a, world.admin):
        client.force_login(person)
        store = sessions.SessionStore(client.session.session_key)
        store.load()
        fresh = User.objects.get(pk=person.pk)
        assert {
            f.attname: getattr(store.person, f.attname) for f in User._meta.concrete_fields
        } == {f.attname: getattr(fresh, f.attname) for f in User._meta.concrete_fields}


def test_a_changed_password_signs_the_session_out(client, world):
    client.force_login(world.member_a)
    assert signed_in(client)
    person = User.objects.get(pk=world.member_a.pk)
    person.set_password("another-long-passphrase-7")
    person.save(update_fields=["password"])  # elsewhere: the admin, a reset
    assert not signed_in(client)


def test_ending_a_persons_sessions_signs_this_one_out(client, world):
    client.force_login(world.member_a)
    sessions.user_sessions_end(user=world.member_a)
    assert not signed_in(client)


def test_an_expired_session_is_signed_out(client, world):
    client.force_login(world.member_a)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    assert not signed_in(client)


def test_a_deactivated_or_deleted_person_is_signed_out(client, world):
    client.force_login(world.member_a)
    User.objects.filter(pk=world.member_a.pk).update(is_active=False)
    assert not signed_in(client)
    client.force_login(world.member_b)
    User.objects.filter(pk=world.member_b.pk).delete()
    assert not signed_in(client)


def test_the_sessions_data_decides_who_is_signed_in_not_its_row(client, world):
    """A row naming someone else (written by hand, or stale) is not believed: the person is
    the one the session's data names, read apart, with Django's checks."""
    client.force_login(world.member_a)
    Session.objects.filter(session_key=client.session.session_key).update(user=world.admin)
    response = client.get(reverse(ORDERS))
    assert response.status_code == 200
    assert response.wsgi_request.user == world.member_a


def test_a_session_from_before_keeps_its_person_and_gets_them_on_its_next_save(client, world):
    """Sessions copied from django_session (migration 0017) have no person on their row:
    still signed in, read apart until the session is next saved."""
    client.force_login(world.member_a)
    Session.objects.filter(session_key=client.session.session_key).update(user=None)
    assert signed_in(client)
    session = client.session
    session[sessions.REFRESHED_AT] = 0  # due for its refresh
    session.save()
    assert row_of(client).user_id == world.member_a.pk


def test_logging_out_and_in_as_someone_else_names_them_on_the_row(client, world):
    client.force_login(world.member_a)
    client.post(reverse("accounts:logout"))
    assert not Session.objects.filter(user=world.member_a).exists()
    client.force_login(world.customer_admin_a)
    assert row_of(client).user_id == world.customer_admin_a.pk
    assert client.get(reverse(ORDERS)).wsgi_request.user == world.customer_admin_a


def test_an_anonymous_session_has_no_person(client, world):
    session = client.session
    session["before_login"] = True
    session.save()
    assert row_of(client).user_id is None
    store = sessions.SessionStore(session.session_key)
    assert store.load() == {"before_login": True}
    assert store.person is None


@pytest.mark.parametrize("value", ["", "x", None, "12abc"])
def test_a_session_naming_no_valid_id_saves_without_a_person(world, value):
    store = sessions.SessionStore()
    store[SESSION_KEY] = value
    store.create()
    assert Session.objects.get(session_key=store.session_key).user_id is None


def _verified(client, person, device) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY

    client.force_login(person)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_a_staff_members_session_person_and_authenticator_are_one_statement(
    client, world, django_assert_num_queries
):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=world.am_a, name="phone", confirmed=True)
    _verified(client, world.am_a, device)
    assert row_of(client).totp_device_id == device.pk
    with django_assert_num_queries(1):
        response = client.get("/no-such-page/")  # the frame alone
    assert response.status_code == 404
    assert response.wsgi_request.user.is_verified()
    store = sessions.SessionStore(client.session.session_key)
    store.load()
    assert store.device.__dict__ | {"_state": None} == TOTPDevice.objects.get(
        pk=device.pk
    ).__dict__ | {"_state": None}


def test_an_authenticator_removed_or_unconfirmed_no_longer_verifies(client, world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    queue = reverse("portal:work_queue")
    device = TOTPDevice.objects.create(user=world.am_a, name="phone", confirmed=True)
    _verified(client, world.am_a, device)
    assert client.get(queue).status_code == 200
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=False)
    assert client.get(queue).status_code == 302  # to the code step, or enrolment
    device = TOTPDevice.objects.create(user=world.am_a, name="new phone", confirmed=True)
    _verified(client, world.am_a, device)
    assert client.get(queue).status_code == 200
    device.delete()
    assert client.get(queue).status_code == 302


def test_the_sessions_data_decides_its_authenticator_not_its_row(client, world):
    """A row naming another device (someone else's) is not believed: the session's own is
    read apart; and a device of another kind (recovery codes) is read apart too."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    queue = reverse("portal:work_queue")
    mine = TOTPDevice.objects.create(user=world.am_a, name="phone", confirmed=True)
    theirs = TOTPDevice.objects.create(user=world.am_b, name="phone", confirmed=True)
    _verified(client, world.am_a, mine)
    Session.objects.filter(session_key=client.session.session_key).update(totp_device=theirs)
    response = client.get(queue)
    assert response.status_code == 200
    assert response.wsgi_request.user.otp_device == mine
    codes = StaticDevice.objects.create(user=world.am_a, name="backup", confirmed=True)
    _verified(client, world.am_a, codes)
    assert row_of(client).totp_device_id is None
    response = client.get(queue)
    assert response.status_code == 200
    assert response.wsgi_request.user.otp_device == codes
