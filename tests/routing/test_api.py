"""REST API for CRM integrations (contract.md, "REST API"): EQL records, filters, the incremental feed,
lifecycle events with 400/403/404 that change nothing, and the OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from expansion.models import EQL, Account, Activity, Role, User
from tests.contract import CONTRACT_KEYS
from tests.factories import AccountFactory, EQLFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST = "/api/eqls/"
T0 = dt.datetime(2025, 5, 1, 8, 0, 0, 250_000, tzinfo=dt.UTC)


def detail(eql: EQL) -> str:
    return f"/api/eqls/{eql.pk}/"


def events(eql: EQL) -> str:
    return f"/api/eqls/{eql.pk}/events/"


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def row(eql: EQL) -> dict:
    return EQL.objects.filter(pk=eql.pk).values().get()


@pytest.fixture
def manager():
    return UserFactory(role=Role.MANAGER, email="manager@example.com")


@pytest.fixture
def ae(manager):
    return UserFactory(role=Role.AE, email="ae@example.com", manager=manager)


@pytest.fixture
def csm():
    return UserFactory(role=Role.CSM, email="csm@example.com")


@pytest.fixture
def revops():
    return UserFactory(role=Role.REVOPS, email="revops@example.com")


@pytest.fixture
def make_eql(ae, csm):
    def make(**overrides) -> EQL:
        account = overrides.pop("account", None) or AccountFactory(ae=ae, csm=csm)
        created = overrides.pop("created_at", timezone.now() - dt.timedelta(days=3))
        values = {"account": account, "owner": ae, "csm": csm, "created_at": created, "updated_at": created}
        return EQLFactory(**{**values, **overrides})

    return make


@pytest.fixture
def eql(make_eql):
    return make_eql(
        score=82,
        triggered_signals=[{"signal": "seat_utilization", "value": 0.95, "threshold": 0.9, "points": 40}],
        opening_angle="You are at 95% of seats.",
        estimate_source="default",
    )


# --- reading --------------------------------------------------------------------------------------


def test_list_and_retrieve_give_the_contract_record_exactly(eql, ae):
    # given
    client = client_for(ae)

    # when
    listed = client.get(LIST)
    one = client.get(detail(eql))

    # then
    assert listed.status_code == one.status_code == 200
    assert listed.json()["count"] == 1
    record = listed.json()["results"][0]
    assert list(record) == CONTRACT_KEYS
    assert one.json() == record
    assert {k: record[k] for k in ("id", "status", "score", "route", "owner_email", "csm_email")} == {
        "id": eql.pk,
        "status": "new",
        "score": 82,
        "route": "ae",
        "owner_email": "ae@example.com",
        "csm_email": "csm@example.com",
    }
    assert record["triggered_signals"] == [
        {"signal": "seat_utilization", "value": 0.95, "threshold": 0.9, "points": 40}
    ]
    assert (record["contract_arr"], record["estimated_expansion_arr"]) == (48000.0, 9600.0)
    assert record["closed_at"] is None


def test_the_list_needs_a_bounded_number_of_queries(make_eql, revops, django_assert_max_num_queries):
    # given
    for _ in range(12):
        make_eql()
    client = client_for(revops)

    # when
    with django_assert_max_num_queries(4):
        response = client.get(LIST)

    # then
    assert response.json()["count"] == 12


@pytest.fixture
def one_per_status(make_eql):
    """An EQL in every status, each on its own account."""
    statuses = ("new", "contacted", "call_booked", "proposal_sent", "won", "lost", "declined")
    return {s: make_eql(status=s) for s in statuses}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["new", "contacted", "call_booked", "proposal_sent", "won", "lost", "declined"]),
        ("all", ["new", "contacted", "call_booked", "proposal_sent", "won", "lost", "declined"]),
        ("open", ["new", "contacted", "call_booked", "proposal_sent"]),
        ("closed", ["won", "lost", "declined"]),
        ("call_booked", ["call_booked"]),
        ("declined", ["declined"]),
    ],
)
def test_status_filter(one_per_status, ae, query, expected):
    # when
    response = client_for(ae).get(LIST, {"status": query})

    # then
    assert response.status_code == 200
    assert sorted(r["status"] for r in response.json()["results"]) == sorted(expected)


def test_an_unknown_status_is_a_400(one_per_status, ae):
    # when
    response = client_for(ae).get(LIST, {"status": "pending"})

    # then
    assert response.status_code == 400
    assert "unknown status 'pending'" in str(response.json())


@pytest.mark.parametrize("email", ["ae@example.com", "AE@Example.com"])
def test_owner_filter(make_eql, revops, csm, email):
    # given
    mine = make_eql()
    other_ae = UserFactory(role=Role.AE, email="other@example.com")
    make_eql(owner=other_ae, account=AccountFactory(ae=other_ae, csm=csm))
    make_eql(owner=None)

    # when
    response = client_for(revops).get(LIST, {"owner": email})

    # then
    assert [r["id"] for r in response.json()["results"]] == [mine.pk]


def test_route_filter(make_eql, revops, csm):
    # given
    make_eql(route="ae")
    review = make_eql(route="csm_review", owner=csm)

    # when
    response = client_for(revops).get(LIST, {"route": "csm_review"})

    # then
    assert [r["id"] for r in response.json()["results"]] == [review.pk]


def test_pagination_pages_of_fifty_in_updated_order(ae, csm, revops):
    # given: 51 EQLs with distinct updated_at
    accounts = Account.objects.bulk_create(
        AccountFactory.build(ae=ae, csm=csm, account_id=f"P-{i:03d}") for i in range(51)
    )
    EQL.objects.bulk_create(
        EQLFactory.build(
            account=a,
            owner=ae,
            csm=csm,
            created_at=T0,
            updated_at=T0 + dt.timedelta(minutes=i),
            contract_arr=1,
        )
        for i, a in enumerate(accounts)
    )
    client = client_for(revops)

    # when
    first = client.get(LIST).json()
    second = client.get(first["next"]).json()

    # then
    assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
    assert (second["count"], len(second["results"]), second["next"]) == (51, 1, None)
    ids = [r["account_id"] for r in first["results"] + second["results"]]
    assert ids == [f"P-{i:03d}" for i in range(51)]
    assert second["previous"].endswith("/api/eqls/")


@pytest.fixture
def feed(make_eql):
    """Five EQLs updated at T0 + 0..4 minutes."""
    return [make_eql(created_at=T0, updated_at=T0 + dt.timedelta(minutes=i)) for i in range(5)]


@pytest.mark.parametrize(
    ("since", "expected_minutes"),
    [
        pytest.param(T0 - dt.timedelta(seconds=1), [0, 1, 2, 3, 4], id="before-all"),
        pytest.param(T0, [1, 2, 3, 4], id="equal-is-excluded"),
        pytest.param(T0 + dt.timedelta(minutes=2), [3, 4], id="strictly-after"),
        pytest.param(T0 + dt.timedelta(minutes=2, microseconds=-1), [2, 3, 4], id="a-microsecond-before"),
        pytest.param(T0 + dt.timedelta(minutes=4), [], id="after-all"),
    ],
)
def test_updated_since_returns_exactly_the_records_changed_after(feed, revops, since, expected_minutes):
    # when
    response = client_for(revops).get(LIST, {"updated_since": since.isoformat()})

    # then
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [feed[m].pk for m in expected_minutes]


@pytest.mark.parametrize(
    "since",
    ["2025-05-01T08:02:00.250000Z", "2025-05-01T10:02:00.250000+02:00"],
    ids=["zulu", "offset"],
)
def test_updated_since_understands_iso_time_zones(feed, revops, since):
    # when
    response = client_for(revops).get(LIST, {"updated_since": since})

    # then
    assert [r["id"] for r in response.json()["results"]] == [feed[3].pk, feed[4].pk]


def test_updated_since_must_be_a_datetime(feed, revops):
    # when
    response = client_for(revops).get(LIST, {"updated_since": "yesterday"})

    # then
    assert response.status_code == 400
    assert "updated_since" in response.json()


def test_a_transition_moves_the_record_into_the_feed(feed, ae, revops):
    # given
    last_sync = T0 + dt.timedelta(minutes=4)

    # when
    client_for(ae).post(events(feed[0]), {"type": "contacted"}, format="json")
    response = client_for(revops).get(LIST, {"updated_since": last_sync.isoformat()})

    # then
    assert [(r["id"], r["status"]) for r in response.json()["results"]] == [(feed[0].pk, "contacted")]


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("ae", True),
        ("csm", True),
        ("manager", True),
        ("revops", True),
        ("finance", True),
        ("stranger", False),
    ],
)
def test_who_sees_an_eql(eql, ae, csm, manager, revops, who, sees):
    # given
    user = {
        "ae": ae,
        "csm": csm,
        "manager": manager,
        "revops": revops,
        "finance": UserFactory(role=Role.FINANCE),
        "stranger": UserFactory(role=Role.AE),
    }[who]
    client = client_for(user)

    # when
    listed = client.get(LIST).json()["results"]
    one = client.get(detail(eql))

    # then
    assert ([r["id"] for r in listed] == [eql.pk]) is sees
    assert one.status_code == (200 if sees else 404)


@pytest.mark.parametrize("path", [LIST, "/api/eqls/1/"])
def test_anonymous_is_refused(eql, path):
    # when
    response = APIClient().get(path)

    # then
    assert response.status_code == 401


def test_a_bad_token_is_refused(eql):
    # given
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    # when
    response = client.get(LIST)

    # then
    assert response.status_code == 401


# --- acting ---------------------------------------------------------------------------------------


def test_an_allowed_event_answers_200_with_the_changed_record(eql, ae):
    # given
    at = eql.created_at + dt.timedelta(hours=2)

    # when
    response = client_for(ae).post(
        events(eql), {"type": "contacted", "note": "emailed", "at": at.isoformat()}, format="json"
    )

    # then
    assert response.status_code == 200
    assert list(response.json()) == CONTRACT_KEYS
    assert (response.json()["id"], response.json()["status"]) == (eql.pk, "contacted")
    eql.refresh_from_db()
    assert (eql.status, eql.first_contact_at) == ("contacted", at)
    activity = Activity.objects.get(eql=eql)
    assert (activity.event, activity.actor, activity.note, activity.occurred_at) == (
        "contacted",
        ae,
        "emailed",
        at,
    )


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        ("call_booked", {"type": "won", "expansion_arr": "18250.00"}, {"status": "won"}),
        ("contacted", {"type": "lost", "reason": "competitor"}, {"status": "lost"}),
        ("new", {"type": "declined", "reason": "not_ready", "note": "M&A"}, {"status": "declined"}),
        ("contacted", {"type": "note", "note": "asked for a quote"}, {"status": "contacted"}),
    ],
)
def test_closing_and_note_events(make_eql, ae, status, body, expected):
    # given
    eql = make_eql(status=status)

    # when
    response = client_for(ae).post(events(eql), body, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["status"] == expected["status"]
    assert (response.json()["closed_at"] is None) is (expected["status"] == status)
    assert Activity.objects.get(eql=eql).event == body["type"]


def test_won_stores_the_amount(make_eql, ae):
    # given
    eql = make_eql(status="proposal_sent")

    # when
    client_for(ae).post(events(eql), {"type": "won", "expansion_arr": 18250.5}, format="json")

    # then
    assert EQL.objects.get(pk=eql.pk).won_arr == Decimal("18250.50")


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        ("new", {"type": "won", "expansion_arr": "100"}, "cannot mark won when the EQL is new"),
        ("won", {"type": "contacted"}, "cannot mark contacted when the EQL is won"),
        ("contacted", {"type": "contacted"}, "cannot mark contacted when the EQL is contacted"),
        ("contacted", {"type": "declined"}, "declined needs a reason code"),
        ("contacted", {"type": "lost", "reason": "made_up"}, "unknown lost reason 'made_up'"),
        ("proposal_sent", {"type": "won"}, "won needs the expansion ARR"),
        ("new", {"type": "note", "note": ""}, "a note needs some text"),
        ("new", {"type": "csm_hold", "note": "wait"}, "only the account's CSM"),
    ],
)
def test_a_forbidden_event_answers_400_with_a_reason_and_changes_nothing(make_eql, ae, status, body, reason):
    # given
    eql = make_eql(status=status, review_state="pending")
    before = row(eql)

    # when
    response = client_for(ae).post(events(eql), body, format="json")

    # then
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert row(eql) == before
    assert Activity.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"type": "reopened"},
        {},
        {"type": "contacted", "at": "last tuesday"},
        {"type": "won", "expansion_arr": "-5"},
    ],
)
def test_a_malformed_event_is_a_400_and_changes_nothing(eql, ae, body):
    # given
    before = row(eql)

    # when
    response = client_for(ae).post(events(eql), body, format="json")

    # then
    assert response.status_code == 400
    assert row(eql) == before
    assert Activity.objects.count() == 0


def test_a_future_event_time_is_a_400(eql, ae):
    # given
    before = row(eql)
    at = timezone.now() + dt.timedelta(days=1)

    # when
    response = client_for(ae).post(events(eql), {"type": "contacted", "at": at.isoformat()}, format="json")

    # then
    assert response.status_code == 400
    assert response.json() == {"detail": "the event time is in the future"}
    assert row(eql) == before


@pytest.mark.parametrize("role", [Role.AE, Role.CSM, Role.MANAGER])
def test_someone_elses_eql_is_a_404_and_nothing_changes(eql, role):
    # given
    before = row(eql)

    # when
    response = client_for(UserFactory(role=role)).post(events(eql), {"type": "contacted"}, format="json")

    # then
    assert response.status_code == 404
    assert row(eql) == before
    assert Activity.objects.count() == 0


def test_finance_can_read_but_gets_403_on_events(eql):
    # given
    finance = client_for(UserFactory(role=Role.FINANCE))
    before = row(eql)

    # when
    read = finance.get(detail(eql))
    acted = finance.post(events(eql), {"type": "contacted"}, format="json")

    # then
    assert read.status_code == 200
    assert acted.status_code == 403
    assert acted.json() == {"detail": "you may not act on this EQL"}
    assert row(eql) == before
    assert Activity.objects.count() == 0


def test_anonymous_cannot_post_events(eql):
    # given
    before = row(eql)

    # when
    response = APIClient().post(events(eql), {"type": "contacted"}, format="json")

    # then
    assert response.status_code == 401
    assert row(eql) == before


@pytest.mark.parametrize("who", ["manager", "revops"])
def test_the_manager_and_revops_may_log_sales_steps(eql, manager, revops, who):
    # given
    user = {"manager": manager, "revops": revops}[who]

    # when
    response = client_for(user).post(events(eql), {"type": "call_booked"}, format="json")

    # then
    assert response.status_code == 200
    assert Activity.objects.get(eql=eql).actor == user


@pytest.mark.parametrize(
    ("event", "status", "extra"),
    [
        ("contacted", "new", {}),
        ("call_booked", "new", {}),
        ("proposal_sent", "call_booked", {}),
        ("won", "proposal_sent", {"expansion_arr": 5000}),
        ("lost", "proposal_sent", {"reason": "price"}),
        ("declined", "new", {"reason": "bad_timing"}),
    ],
)
def test_the_accounts_csm_may_not_log_sales_steps_on_an_ae_owned_eql(make_eql, csm, event, status, extra):
    # given: the AE owns it; the CSM is the account's CSM
    eql = make_eql(status=status)
    before = row(eql)

    # when
    response = client_for(csm).post(events(eql), {"type": event, **extra}, format="json")

    # then: refused with the reason, nothing written
    assert response.status_code == 400
    assert "only the EQL's owner logs sales steps" in response.json()["detail"]
    assert row(eql) == before
    assert not Activity.objects.filter(eql=eql).exists()


def test_the_accounts_csm_adds_a_note_to_an_ae_owned_eql(eql, csm):
    # when
    response = client_for(csm).post(events(eql), {"type": "note", "note": "Renewal in May"}, format="json")

    # then
    assert response.status_code == 200
    assert Activity.objects.get(eql=eql).actor == csm
    assert row(eql)["status"] == "new"


def test_the_csm_holds_and_the_ae_is_refused_outreach(make_eql, ae, csm):
    # given
    eql = make_eql(priority="medium", review_state="pending")

    # when
    held = client_for(csm).post(events(eql), {"type": "csm_hold", "note": "Renewal next week"}, format="json")
    outreach = client_for(ae).post(events(eql), {"type": "contacted"}, format="json")

    # then
    assert held.status_code == 200
    assert outreach.status_code == 400
    assert "holding this EQL" in outreach.json()["detail"]
    eql.refresh_from_db()
    assert (eql.status, eql.review_state, eql.hold_note) == ("new", "held", "Renewal next week")


# --- schema ---------------------------------------------------------------------------------------


def test_the_openapi_schema_lists_the_eql_endpoints(revops):
    # when
    response = client_for(revops).get("/api/schema/", {"format": "json"})

    # then
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/eqls/", "/api/eqls/{id}/", "/api/eqls/{id}/events/"} <= set(paths)
    assert set(paths["/api/eqls/{id}/events/"]) == {"post"}
    list_params = {p["name"] for p in paths["/api/eqls/"]["get"]["parameters"]}
    assert {"status", "owner", "route", "updated_since", "page"} <= list_params
