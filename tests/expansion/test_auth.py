"""Sign-in throttling and role-based access to admin."""

import pytest
from django.urls import reverse

from expansion.auth import MAX_FAILURES
from tests.factories import PASSWORD, UserFactory


@pytest.mark.django_db
def test_repeated_failed_sign_ins_are_refused_then_even_the_right_password_waits(client):
    user = UserFactory(role="AE")
    for _ in range(MAX_FAILURES):
        response = client.post(reverse("login"), {"username": user.email, "password": "wrong"})
        assert response.status_code == 200

    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})

    assert response.status_code == 429
    assert response.context["form"].non_field_errors() == [
        "Too many failed sign-ins. Wait 15 minutes and try again."
    ]
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_correct_sign_in_after_a_few_failures_works(client):
    user = UserFactory(role="CSM")
    for _ in range(MAX_FAILURES - 1):
        client.post(reverse("login"), {"username": user.email, "password": "wrong"})

    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["AE", "CSM", "Manager", "Finance"])
def test_admin_is_closed_to_non_staff_roles(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
