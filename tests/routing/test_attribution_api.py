"""``GET /api/attribution/?from=&to=`` and splits on ``POST /api/eqls/{id}/events/`` (contract.md).

Finance, RevOps and Managers read the whole log; an AE or CSM reads only their own entries; nobody
updates or deletes entries; only RevOps appends corrections; Finance gets 403 on every write.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from expansion.models import EQL, Activity, AttributionEntry, Role
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC
CREATED = dt.datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
LIST = "/api/attribution/"


def at(month: int, day: int = 15) -> str:
    return dt.datetime(2025, month, day, 12, 0, tzinfo=UTC).isoformat()


@pytest.fixture
def manager():
    return UserFactory(role=Role.MANAGER, email="manager@example.com")


@pytest.fixture
def ae(manager):
    return UserFactory(role=Role.AE, email="ae@example.com", manager=manager)


@pytest.fixture
def csm(manager):
    return UserFactory(role=Role.CSM, email="csm@example.com", manager=manager)


@pytest.fixture
def users(ae, csm, manager):
    return {
        "ae": ae,
        "csm": csm,
        "manager": manager,
        "finance": UserFactory(role=Role.FINANCE, email="finance@example.com"),
        "revops": UserFactory(role=Role.REVOPS, email="revops@example.com"),
        "other_ae": UserFactory(role=Role.AE, email="other@example.com"),
        "nobody": UserFactory(role="", email="norole@example.com"),
    }


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def make_eql(ae, csm, involvement=False, status="proposal_sent", **kw) -> EQL:
    values = {
        "account": AccountFactory(ae=ae, csm=csm),
        "owner": ae,
        "csm": csm,
        "route": "ae",
        "csm_involvement_required": involvement,
        "status": status,
        "created_at": CREATED,
        "priority": "high",
    }
    return EQLFactory(**{**values, **kw})


def post_event(client, eql, **body):
    return client.post(f"/api/eqls/{eql.pk}/events/", body, format="json")


@pytest.fixture
def log(users, ae, csm):
    """Three wins closed in January, February and March (six entries: quota to the AE, book attainment
    to the CSM), recorded through the API."""
    closer = client_for(ae)
    eqls = []
    for month in (1, 2, 3):
        eql = make_eql(ae, csm)
        response = post_event(closer, eql, type="won", at=at(month), expansion_arr="1000.00")
        assert response.status_code == 200, response.json()
        eqls.append(eql)
    return eqls


# --- recording credit through the events API ------------------------------------------------------


def test_a_co_owned_win_with_a_valid_split_is_logged(users, ae, csm):
    # given
    eql = make_eql(ae, csm, involvement=True)

    # when
    response = post_event(
        client_for(ae),
        eql,
        type="won",
        at=at(2),
        expansion_arr="30000.00",
        splits=[{"email": "ae@example.com", "percent": 65}, {"email": "csm@example.com", "percent": 35}],
    )

    # then
    assert response.status_code == 200
    assert list(
        AttributionEntry.objects.order_by("id").values_list(
            "person__email", "credit_type", "percent", "amount"
        )
    ) == [
        ("ae@example.com", "quota", 65, Decimal("19500.00")),
        ("csm@example.com", "quota", 35, Decimal("10500.00")),
        ("csm@example.com", "attainment", 100, Decimal("30000.00")),
    ]


@pytest.mark.parametrize(
    ("splits", "fragment"),
    [
        (
            [{"email": "ae@example.com", "percent": 60}, {"email": "csm@example.com", "percent": 39}],
            "sums to 99%",
        ),
        (
            [{"email": "ae@example.com", "percent": 60}, {"email": "csm@example.com", "percent": 41}],
            "sums to 101%",
        ),
        (
            [{"email": "ae@example.com", "percent": 50}, {"email": "ae@example.com", "percent": 50}],
            "more than once",
        ),
        (
            [{"email": "ae@example.com", "percent": 50}, {"email": "who@example.com", "percent": 50}],
            "nobody is",
        ),
        (
            [{"email": "ae@example.com", "percent": 50}, {"email": "other@example.com", "percent": 50}],
            "not involved",
        ),
        (
            [{"email": "ae@example.com", "percent": 110}, {"email": "csm@example.com", "percent": -10}],
            "percent",
        ),
        (
            [{"email": "ae@example.com", "percent": 50.5}, {"email": "csm@example.com", "percent": 49.5}],
            "percent",
        ),
        ([], "co-owned"),
    ],
)
def test_an_invalid_split_answers_400_and_writes_nothing(users, ae, csm, splits, fragment):
    # given
    eql = make_eql(ae, csm, involvement=True)

    # when
    response = post_event(client_for(ae), eql, type="won", at=at(2), expansion_arr="30000.00", splits=splits)

    # then
    assert response.status_code == 400
    assert fragment in str(response.json())
    assert AttributionEntry.objects.count() == 0
    assert Activity.objects.count() == 0
    assert EQL.objects.get(pk=eql.pk).status == "proposal_sent"


def test_an_inactive_person_in_a_split_answers_400(users, ae, csm):
    # given the account's CSM left the company
    csm.is_active = False
    csm.save()
    eql = make_eql(ae, csm, involvement=True)

    # when
    response = post_event(
        client_for(ae),
        eql,
        type="won",
        expansion_arr="100.00",
        splits=[{"email": "ae@example.com", "percent": 50}, {"email": "csm@example.com", "percent": 50}],
    )

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": "split line 2: csm@example.com is inactive and cannot get credit"}
    assert AttributionEntry.objects.count() == 0


def test_finance_gets_403_on_events(users, ae, csm):
    # given
    eql = make_eql(ae, csm)

    # when
    response = post_event(client_for(users["finance"]), eql, type="won", expansion_arr="100.00")

    # then
    assert response.status_code == 403
    assert AttributionEntry.objects.count() == 0
    assert EQL.objects.get(pk=eql.pk).status == "proposal_sent"


# --- reading the log ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["finance", "revops", "manager"])
def test_finance_revops_and_managers_read_the_whole_log(users, log, role):
    # when
    response = client_for(users[role]).get(LIST)

    # then
    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 6
    first = body["results"][0]
    assert {k: first[k] for k in ("person_email", "credit_type", "percent", "amount", "period", "rule")} == {
        "person_email": "ae@example.com",
        "credit_type": "quota",
        "percent": 100,
        "amount": "1000.00",
        "period": "2025-01",
        "rule": "ae_owner",
    }
    assert first["prev_hash"] == "0" * 64
    assert body["results"][1]["prev_hash"] == first["entry_hash"]


def test_the_close_date_range_is_inclusive(users, log):
    # when
    response = client_for(users["finance"]).get(LIST, {"from": "2025-02-15", "to": "2025-03-15"})

    # then
    assert response.status_code == 200
    assert sorted({r["period"] for r in response.json()["results"]}) == ["2025-02", "2025-03"]
    assert response.json()["count"] == 4
    assert client_for(users["finance"]).get(LIST, {"from": "2025-03-16"}).json()["count"] == 0


def test_a_bad_date_answers_400(users, log):
    # when
    response = client_for(users["finance"]).get(LIST, {"from": "last tuesday"})

    # then
    assert response.status_code == 400
    assert "from" in response.json()


def test_the_log_is_paginated(users, log, monkeypatch):
    # given a page size of four (the default is 50)
    from rest_framework.pagination import PageNumberPagination

    monkeypatch.setattr(PageNumberPagination, "page_size", 4)

    # when
    first = client_for(users["finance"]).get(LIST).json()

    # then
    assert (first["count"], len(first["results"])) == (6, 4)
    assert first["next"].endswith("page=2")


@pytest.mark.parametrize(("role", "email"), [("ae", "ae@example.com"), ("csm", "csm@example.com")])
def test_an_ae_or_csm_reads_only_their_own_entries(users, log, role, email):
    # when
    response = client_for(users[role]).get(LIST)

    # then
    assert response.status_code == 200
    assert {r["person_email"] for r in response.json()["results"]} == {email}
    assert response.json()["count"] == 3


def test_someone_elses_entry_is_not_found_for_an_ae(users, log):
    # given
    csm_entry = AttributionEntry.objects.filter(person__email="csm@example.com").first()

    # then
    assert client_for(users["ae"]).get(f"{LIST}{csm_entry.pk}/").status_code == 404
    assert client_for(users["other_ae"]).get(LIST).json()["count"] == 0


def test_a_user_without_a_role_or_login_is_refused(users, log):
    # then
    assert client_for(users["nobody"]).get(LIST).status_code == 403
    assert APIClient().get(LIST).status_code in (401, 403)


# --- nobody updates or deletes; Finance never writes ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "detail"),
    [("post", False), ("put", True), ("patch", True), ("delete", True), ("post", True)],
)
def test_finance_gets_403_on_every_write(users, log, method, detail):
    # given
    entry = AttributionEntry.objects.first()
    url = (
        f"{LIST}{entry.pk}/correct/"
        if method == "post" and detail
        else f"{LIST}{entry.pk}/"
        if detail
        else LIST
    )
    before = list(AttributionEntry.objects.values_list("id", "amount", "entry_hash"))

    # when
    response = getattr(client_for(users["finance"]), method)(
        url, {"amount": "1.00", "reason": "x", "percent": 50}, format="json"
    )

    # then
    assert response.status_code == 403
    assert list(AttributionEntry.objects.values_list("id", "amount", "entry_hash")) == before


@pytest.mark.parametrize("role", ["revops", "manager", "ae"])
@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_nobody_updates_or_deletes_an_entry_through_the_api(users, log, role, method):
    # given
    entry = AttributionEntry.objects.filter(person=users["ae"]).first()
    before = list(AttributionEntry.objects.values_list("id", "amount", "entry_hash"))

    # when
    response = getattr(client_for(users[role]), method)(
        f"{LIST}{entry.pk}/", {"amount": "1.00"}, format="json"
    )

    # then RevOps may write but there is no such write (405); everyone else is refused (403)
    assert response.status_code == (405 if role == "revops" else 403)
    assert list(AttributionEntry.objects.values_list("id", "amount", "entry_hash")) == before


def test_nobody_creates_an_entry_through_the_api(users, log):
    # when
    response = client_for(users["revops"]).post(LIST, {"amount": "1.00"}, format="json")

    # then
    assert response.status_code == 405
    assert AttributionEntry.objects.count() == 6


def test_revops_corrects_an_entry_with_a_reversal_and_a_replacement(users, log):
    # given
    entry = AttributionEntry.objects.filter(credit_type="quota").first()

    # when
    response = client_for(users["revops"]).post(
        f"{LIST}{entry.pk}/correct/", {"reason": "amended order form", "amount": "1250.00"}, format="json"
    )

    # then
    body = response.json()
    assert response.status_code == 201
    assert (body["reversal"]["corrects_id"], body["reversal"]["amount"], body["reversal"]["percent"]) == (
        entry.pk,
        "-1000.00",
        -100,
    )
    assert (body["replacement"]["corrects_id"], body["replacement"]["amount"]) == (entry.pk, "1250.00")
    eql_entries = AttributionEntry.objects.filter(eql_id=entry.eql_id, credit_type="quota")
    assert sum(e.amount for e in eql_entries) == Decimal("1250.00")
    again = client_for(users["revops"]).post(
        f"{LIST}{entry.pk}/correct/", {"reason": "again", "amount": "1.00"}, format="json"
    )
    assert again.status_code == 400
    assert "already corrected" in again.json()["detail"]


def test_a_correction_without_a_reason_answers_400(users, log):
    # given
    entry = AttributionEntry.objects.first()

    # when
    response = client_for(users["revops"]).post(
        f"{LIST}{entry.pk}/correct/", {"amount": "5.00"}, format="json"
    )

    # then
    assert response.status_code == 400
    assert "reason" in response.json()
    assert AttributionEntry.objects.count() == 6


def test_the_schema_documents_the_attribution_endpoint(users):
    # when
    response = client_for(users["finance"]).get(reverse("api-schema"))

    # then
    text = response.content.decode()
    assert response.status_code == 200
    assert "/api/attribution/" in text
    assert "/api/attribution/{id}/correct/" in text


def test_ids_beyond_a_database_integer_are_not_found_rather_than_an_error(users, log):
    # given
    client = client_for(users["finance"])

    # then
    assert client.get(f"{LIST}{2**63}/").status_code == 404
    assert client_for(users["revops"]).post(f"{LIST}{10**30}/correct/", {"reason": "x"}).status_code == 404
    assert client.get(LIST, {"eql": str(10**30)}).status_code == 400
    assert client.get(LIST, {"eql": log[0].pk}).json()["count"] == 2
