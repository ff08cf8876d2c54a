"""Sign-in lockout per (email, client address) with django-axes, and role-based access to admin."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from expansion.auth import LOCKOUT_MESSAGE, client_address
from tests.factories import PASSWORD, UserFactory

FAILURE_LIMIT = 5
OFFICE = "198.51.100.7"  # one company NAT: everyone there shares this address
HOME = "203.0.113.20"


def sign_in(client, user, password=PASSWORD, address=OFFICE, **headers):
    return client.post(
        reverse("login"), {"username": user.email, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, user, times=FAILURE_LIMIT, address=OFFICE, **headers):
    for _ in range(times):
        response = sign_in(client, user, "wrong", address, **headers)
        assert response.status_code in (200, 429)


def signed_in_as(client, user) -> bool:
    return client.session.get("_auth_user_id") == str(user.pk)


@pytest.mark.django_db
def test_repeated_failed_sign_ins_are_refused_then_even_the_right_password_waits(client):
    user = UserFactory(role="AE")
    for _ in range(FAILURE_LIMIT - 1):
        assert sign_in(client, user, "wrong").status_code == 200

    fifth = sign_in(client, user, "wrong")
    response = sign_in(client, user)

    assert fifth.status_code == 429
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKOUT_MESSAGE in page
    assert "Email or password is not right" not in page
    assert 'name="username"' in page  # the sign-in form again, not a bare error page
    assert not signed_in_as(client, user)


@pytest.mark.django_db
def test_the_email_is_counted_however_it_is_typed(client):
    user = UserFactory(role="AE", email="maya@example.com")
    for typed in ["maya@example.com", "Maya@Example.com", " MAYA@example.com", "maya@EXAMPLE.com"]:
        client.post(reverse("login"), {"username": typed, "password": "wrong"}, REMOTE_ADDR=OFFICE)

    assert sign_in(client, user, "wrong").status_code == 429


@pytest.mark.django_db
def test_a_correct_sign_in_after_a_few_failures_works_and_clears_them(client):
    user = UserFactory(role="CSM")
    fail(client, user, FAILURE_LIMIT - 1)

    response = sign_in(client, user)

    assert response.status_code == 302
    assert signed_in_as(client, user)
    client.logout()
    fail(client, user, FAILURE_LIMIT - 1)  # the count started again after the success
    assert sign_in(client, user).status_code == 302


@pytest.mark.django_db
def test_a_locked_out_user_does_not_lock_out_colleagues_behind_the_same_address(client):
    typist, colleague = UserFactory(role="AE"), UserFactory(role="AE")
    fail(client, typist)
    assert sign_in(client, typist).status_code == 429

    response = sign_in(client, colleague)

    assert response.status_code == 302
    assert signed_in_as(client, colleague)


@pytest.mark.django_db
def test_the_same_user_still_signs_in_from_another_address(client):
    user = UserFactory(role="AE")
    fail(client, user, address=OFFICE)  # someone guessing at the office

    response = sign_in(client, user, address=HOME)

    assert response.status_code == 302
    assert signed_in_as(client, user)


@pytest.mark.django_db
@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_one_trusted_proxy_the_forwarded_client_is_what_counts(client):
    user, colleague = UserFactory(role="AE"), UserFactory(role="AE")
    proxy = "10.0.0.2"  # REMOTE_ADDR of every request: the reverse proxy
    # The client sent its own X-Forwarded-For to dodge the count; the proxy appended the real address.
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"]:
        fail(client, user, 1, address=proxy, HTTP_X_FORWARDED_FOR=f"{forged}, {OFFICE}")

    locked = sign_in(client, user, address=proxy, HTTP_X_FORWARDED_FOR=OFFICE)
    elsewhere = sign_in(client, user, address=proxy, HTTP_X_FORWARDED_FOR=HOME)

    assert locked.status_code == 429
    assert elsewhere.status_code == 302
    attempt = AccessAttempt.objects.get()  # one pair counted, not one per forged address
    assert (attempt.username, attempt.ip_address) == (user.email, OFFICE)
    assert attempt.failures_since_start >= FAILURE_LIMIT
    client.logout()
    assert sign_in(client, colleague, address=proxy, HTTP_X_FORWARDED_FOR=OFFICE).status_code == 302


@pytest.mark.django_db
def test_without_trusted_proxies_a_forwarded_header_is_ignored(client):
    user = UserFactory(role="AE")
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"]:
        fail(client, user, 1, HTTP_X_FORWARDED_FOR=forged)

    assert sign_in(client, user, HTTP_X_FORWARDED_FOR="6.6.6.6").status_code == 429


@pytest.mark.django_db
def test_revops_deletes_the_access_attempt_in_admin_and_it_unlocks(client):
    user = UserFactory(role="AE")
    fail(client, user)
    assert sign_in(client, user).status_code == 429
    attempt = AccessAttempt.objects.get(username=user.email)
    revops = UserFactory(role="RevOps", is_staff=True)
    revops.groups.set([Group.objects.get(name="RevOps")])  # as the import and seed_demo assign it
    admin = client.__class__()
    admin.force_login(revops)

    listing = admin.get(reverse("admin:axes_accessattempt_changelist"))
    confirm = admin.post(
        reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"}, follow=True
    )

    assert user.email in listing.content.decode()
    assert confirm.status_code == 200
    assert not AccessAttempt.objects.exists()
    assert sign_in(client, user).status_code == 302


@pytest.mark.django_db
def test_axes_reset_command_unlocks(client):
    user = UserFactory(role="AE")
    fail(client, user)
    assert sign_in(client, user).status_code == 429

    call_command("axes_reset_username", user.email)

    assert sign_in(client, user).status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_locked_out_the_same_way(client):
    staff = UserFactory(role="RevOps", is_staff=True, is_superuser=True)
    for _ in range(FAILURE_LIMIT):
        client.post(
            reverse("admin:login"), {"username": staff.email, "password": "wrong"}, REMOTE_ADDR=OFFICE
        )

    response = client.post(
        reverse("admin:login"), {"username": staff.email, "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )

    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("remote", "forwarded", "proxies", "client"),
    [
        ("198.51.100.7", "", 0, "198.51.100.7"),
        ("198.51.100.7", "1.1.1.1", 0, "198.51.100.7"),  # no proxy: the header is the client's word
        ("10.0.0.2", "203.0.113.5", 1, "203.0.113.5"),
        ("10.0.0.2", "1.1.1.1, 203.0.113.5", 1, "203.0.113.5"),  # left of the proxy's entry: forged
        ("10.0.0.3", "1.1.1.1, 203.0.113.5, 10.0.0.2", 2, "203.0.113.5"),
        ("10.0.0.2", " 2001:db8::1 ", 1, "2001:db8::1"),
        ("198.51.100.7", "", 1, "198.51.100.7"),  # came around the proxy
        ("10.0.0.3", "203.0.113.5", 2, "10.0.0.3"),  # shorter than the chain
        ("10.0.0.2", "unknown", 1, "10.0.0.2"),  # not an address
    ],
)
def test_client_address(remote, forwarded, proxies, client):
    assert client_address(remote, forwarded, proxies) == client


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["AE", "CSM", "Manager", "Finance"])
def test_admin_is_closed_to_non_staff_roles(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
