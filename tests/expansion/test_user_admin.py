"""The user admin (#13): only a superuser grants superuser, staff, groups or the RevOps and Finance roles,
or changes a superuser's, RevOps' or Finance's account. RevOps manages everyone else."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from expansion.models import Role, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PRIVILEGE_FIELDS = ("is_superuser", "is_staff", "groups", "user_permissions")


def change_url(user: User) -> str:
    return reverse("admin:expansion_user_change", args=[user.pk])


def form_data(user: User, **changes) -> dict:
    """What the change form posts for ``user`` (the fields a RevOps user sees), with ``changes``."""
    data = {
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "manager": user.manager_id or "",
        "capacity": user.capacity or "",
        "is_active": "on" if user.is_active else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not False}


def stored(user: User) -> tuple:
    user.refresh_from_db()
    groups = sorted(user.groups.values_list("name", flat=True))
    perms = sorted(user.user_permissions.values_list("codename", flat=True))
    return (user.name, user.role, user.is_superuser, user.is_staff, user.password, groups, perms)


@pytest.fixture
def revops() -> User:
    return UserFactory(role=Role.REVOPS, is_staff=True)


@pytest.fixture
def revops_client(revops) -> Client:
    client = Client()
    client.force_login(revops)
    return client


@pytest.fixture
def ae() -> User:
    return UserFactory(role=Role.AE, name="Alex")


def test_revops_sees_no_superuser_staff_or_group_fields_and_no_privileged_roles(revops_client, ae):
    # when
    response = revops_client.get(change_url(ae))

    # then
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert not set(PRIVILEGE_FIELDS) & set(form.fields)
    assert [value for value, _ in form.fields["role"].choices] == ["", "AE", "CSM", "Manager"]


def test_revops_add_form_offers_no_privileged_roles(revops_client):
    # when
    response = revops_client.get(reverse("admin:expansion_user_add"))

    # then
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert [value for value, _ in form.fields["role"].choices] == ["", "AE", "CSM", "Manager"]


def test_superuser_sees_the_privilege_fields_and_every_role():
    # given
    client = Client()
    client.force_login(UserFactory(role="", is_superuser=True, is_staff=True))

    # when
    response = client.get(change_url(UserFactory(role=Role.AE)))

    # then
    form = response.context["adminform"].form
    assert {"is_superuser", "is_staff", "groups"} <= set(form.fields)
    assert {"RevOps", "Finance"} <= {value for value, _ in form.fields["role"].choices}


def test_revops_posting_superuser_to_its_own_account_is_refused_and_changes_nothing(revops_client, revops):
    # given
    before = stored(revops)
    group = Group.objects.get_or_create(name=Role.FINANCE)[0]

    # when: a forged POST with the fields the form does not show
    response = revops_client.post(
        change_url(revops),
        form_data(revops, is_superuser="on", is_staff="on", groups=[group.pk], role=Role.FINANCE),
    )

    # then
    assert response.status_code == 403
    assert stored(revops) == before


def test_revops_posting_superuser_for_an_ae_has_no_effect_on_privileges(revops_client, ae):
    # given
    group = Group.objects.get_or_create(name=Role.REVOPS)[0]

    # when: the name change is allowed; the forged privilege fields are not form fields
    response = revops_client.post(
        change_url(ae), form_data(ae, name="Alex B", is_superuser="on", is_staff="on", groups=[group.pk])
    )

    # then
    assert response.status_code == 302
    assert stored(ae) == ("Alex B", Role.AE, False, False, ae.password, ["AE"], [])


@pytest.mark.parametrize("role", [Role.REVOPS, Role.FINANCE])
def test_revops_may_not_give_an_ae_a_privileged_role(revops_client, ae, role):
    # given
    before = stored(ae)

    # when
    response = revops_client.post(change_url(ae), form_data(ae, role=role))

    # then: the form refuses the choice
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert stored(ae) == before


def test_revops_changing_a_role_moves_the_person_to_that_roles_group(revops_client, ae):
    # when
    response = revops_client.post(change_url(ae), form_data(ae, role=Role.MANAGER))

    # then
    assert response.status_code == 302
    assert stored(ae)[1::4] == (Role.MANAGER, ["Manager"])


@pytest.mark.parametrize(
    "who",
    [
        pytest.param({"role": Role.FINANCE}, id="finance"),
        pytest.param({"role": Role.REVOPS, "is_staff": True}, id="revops"),
        pytest.param({"role": "", "is_superuser": True, "is_staff": True}, id="superuser"),
    ],
)
def test_revops_may_read_but_not_change_a_privileged_account_or_its_password(revops_client, who):
    # given
    target = UserFactory(name="Fay", **who)
    before = stored(target)
    password_url = reverse("admin:auth_user_password_change", args=[target.pk])
    new_password = {"password1": "a-new-Password-9876", "password2": "a-new-Password-9876"}

    # when
    read = revops_client.get(change_url(target))
    demote = revops_client.post(change_url(target), form_data(target, name="Fay B", role=Role.AE))
    password = revops_client.post(password_url, {**new_password, "usable_password": "true"})

    # then
    assert read.status_code == 200
    assert not read.context["has_change_permission"]
    assert (demote.status_code, password.status_code) == (403, 403)
    assert stored(target) == before


def test_revops_may_not_add_a_finance_user(revops_client):
    # when
    response = revops_client.post(
        reverse("admin:expansion_user_add"),
        {
            "username": "fay@example.com",
            "email": "fay@example.com",
            "name": "Fay",
            "role": Role.FINANCE,
            "password1": "a-new-Password-9876",
            "password2": "a-new-Password-9876",
            "usable_password": "true",
        },
    )

    # then
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert not User.objects.filter(email="fay@example.com").exists()


def test_revops_may_add_a_csm(revops_client):
    # when
    response = revops_client.post(
        reverse("admin:expansion_user_add"),
        {
            "username": "cam@example.com",
            "email": "cam@example.com",
            "name": "Cam",
            "role": Role.CSM,
            "password1": "a-new-Password-9876",
            "password2": "a-new-Password-9876",
            "usable_password": "true",
        },
    )

    # then
    assert response.status_code == 302
    cam = User.objects.get(email="cam@example.com")
    assert (cam.role, cam.is_staff, cam.is_superuser, list(cam.groups.values_list("name", flat=True))) == (
        Role.CSM,
        False,
        False,
        ["CSM"],
    )
