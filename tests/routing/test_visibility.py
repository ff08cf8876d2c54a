"""Who sees which EQL: the one rule (routing.selectors.eqls_visible) that the inbox, the API and the
exports use. The inbox and API tests check that each of them goes through it; this holds the rule."""

from __future__ import annotations

import pytest

from expansion.models import Role
from routing.selectors import eqls_visible
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    manager = UserFactory(role=Role.MANAGER, email="manager@example.com")
    other_manager = UserFactory(role=Role.MANAGER, email="other-manager@example.com")
    ae = UserFactory(role=Role.AE, email="ae@example.com", manager=manager)
    other_ae = UserFactory(role=Role.AE, email="other-ae@example.com", manager=other_manager)
    csm = UserFactory(role=Role.CSM, email="csm@example.com", manager=manager)
    people = {
        "manager": manager,
        "other_manager": other_manager,
        "ae": ae,
        "other_ae": other_ae,
        "csm": csm,
        "revops": UserFactory(role=Role.REVOPS, email="revops@example.com"),
        "finance": UserFactory(role=Role.FINANCE, email="finance@example.com"),
        "root": UserFactory(role="", email="root@example.com", is_superuser=True),
    }

    def eql(owner, account_csm=None):
        return EQLFactory(account=AccountFactory(ae=owner, csm=account_csm), owner=owner, csm=account_csm).pk

    eqls = {
        "ae": eql(ae),
        "ae_with_csm": eql(ae, csm),
        "other_ae": eql(other_ae),
        "other_ae_with_csm": eql(other_ae, csm),
        "unassigned": eql(None),
        "manager_owns": eql(manager),
    }
    return people, eqls


EVERY = {"ae", "ae_with_csm", "other_ae", "other_ae_with_csm", "unassigned", "manager_owns"}


@pytest.mark.parametrize(
    ("person", "sees"),
    [
        ("ae", {"ae", "ae_with_csm"}),
        ("other_ae", {"other_ae", "other_ae_with_csm"}),
        ("csm", {"ae_with_csm", "other_ae_with_csm"}),
        ("manager", {"ae", "ae_with_csm", "unassigned", "manager_owns"}),
        ("other_manager", {"other_ae", "other_ae_with_csm", "unassigned"}),
        ("revops", EVERY),
        ("finance", EVERY),
        ("root", EVERY),
    ],
)
def test_each_person_sees_exactly_their_eqls(world, person, sees):
    people, eqls = world

    visible = set(eqls_visible(user=people[person]).values_list("pk", flat=True))

    assert visible == {eqls[name] for name in sees}
