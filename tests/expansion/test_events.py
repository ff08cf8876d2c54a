"""Product events (contract.md, `events.csv` and `POST /api/events/`): validated like the export,
all or nothing, idempotent by event id; ``events_received`` after the commit; ``events_frame``."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from expansion.api import IsRevOps
from expansion.models import Account, ProductEvent, Role, SourceInput, WarehouseSource
from expansion.selectors import events_frame
from expansion.services import ImportRejected, import_file
from expansion.signals import events_received
from tests.expansion.test_import import ACCOUNTS, USERS, run_import, write_export
from tests.expansion.test_sources import accounts_table, counts, sync, users_table
from tests.factories import AccountFactory, ProductEventFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "event_id,account_id,occurred_at,event,properties\n"
EVENTS = (
    HEADER
    + 'E-1,A-1,2025-05-01T10:00:00Z,invite_blocked_seat_limit,"{""seats"": 50, ""plan"": ""pro""}"\n'
    + "E-2,A-1,2025-05-02 11:30:00,invite_blocked_seat_limit,\n"
    + "E-3,A-2,2025-05-02T12:00:00+02:00,export.started:csv,{}\n"
)
UTC = dt.UTC


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def accounts() -> dict[str, Account]:
    return {a: AccountFactory(account_id=a) for a in ("A-1", "A-2")}


@pytest.fixture
def sent():
    """Every ``events_received`` sent during the test, as (account_pks, events)."""
    calls = []

    def receiver(sender, account_pks, events, **kwargs):
        calls.append((account_pks, events))

    events_received.connect(receiver, weak=False)
    yield calls
    events_received.disconnect(receiver)


def load(text: str):
    return import_file(name="events.csv", stream=io.BytesIO(text.encode()))


def rejected(text: str) -> list[str]:
    with pytest.raises(ImportRejected) as excinfo:
        load(text)
    return excinfo.value.errors


def stored() -> list[tuple]:
    return sorted(
        ProductEvent.objects.values_list(
            "event_id", "account__account_id", "occurred_at", "event", "properties"
        )
    )


# --- events.csv ------------------------------------------------------------------------------------


def test_events_csv_stores_every_row_in_utc(accounts):
    # when
    result = load(EVENTS)

    # then
    assert result.as_dict() == {"rows": 3, "created": 3, "updated": 0}
    assert stored() == [
        ("E-1", "A-1", at(2025, 5, 1, 10), "invite_blocked_seat_limit", {"seats": 50, "plan": "pro"}),
        ("E-2", "A-1", at(2025, 5, 2, 11, 30), "invite_blocked_seat_limit", {}),
        ("E-3", "A-2", at(2025, 5, 2, 10), "export.started:csv", {}),
    ]
    assert ProductEvent.objects.get(event_id="E-1").received_at is not None


def test_import_data_loads_events_after_the_accounts_of_the_same_folder(tmp_path):
    # given: the accounts the events refer to arrive in the same folder
    folder = write_export(
        tmp_path / "export", {"users.csv": USERS, "accounts.csv": ACCOUNTS, "events.csv": EVENTS}
    )

    # when
    result = run_import(folder)

    # then
    assert result["files"]["events.csv"] == {"rows": 3, "created": 3, "updated": 0}
    assert ProductEvent.objects.filter(account__account_id="A-1").count() == 2


def test_reimporting_the_same_file_creates_nothing_and_keeps_what_was_stored(
    accounts, sent, django_capture_on_commit_callbacks
):
    # given
    load(EVENTS)
    before = stored()
    changed = EVENTS.replace(
        "E-2,A-1,2025-05-02 11:30:00,invite_blocked_seat_limit,", "E-2,A-2,2025-05-09,other,"
    )

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = load(EVENTS)
        edited = load(changed)

    # then: repeats are unchanged rows, not errors, and an id already stored is never rewritten
    assert again.as_dict() == {"rows": 3, "created": 0, "updated": 0}
    assert edited.as_dict() == {"rows": 3, "created": 0, "updated": 0}
    assert stored() == before
    assert callbacks == []
    assert sent == []


def test_a_file_with_new_and_known_events_creates_only_the_new_ones(accounts):
    # given
    load(EVENTS)

    # when
    result = load(EVENTS + "E-4,A-2,2025-05-03T00:00:00Z,invite_blocked_seat_limit,\n")

    # then
    assert result.as_dict() == {"rows": 4, "created": 1, "updated": 0}
    assert ProductEvent.objects.count() == 4


LONG_ID = "E" * 129
LONG_NAME = "a" * 121


@pytest.mark.parametrize(
    ("row", "error"),
    [
        pytest.param(
            ",A-1,2025-05-03,x,", "events.csv:5: event_id: required value is missing", id="id-missing"
        ),
        pytest.param(
            f"{LONG_ID},A-1,2025-05-03,x,",
            "events.csv:5: event_id: is 129 characters long; at most 128 are allowed",
            id="id-too-long",
        ),
        pytest.param(
            "E-2,A-1,2025-05-03,x,",
            "events.csv:5: event_id: duplicate event_id 'E-2' in this file (first on line 3)",
            id="id-duplicate",
        ),
        pytest.param(
            "E-9,,2025-05-03,x,", "events.csv:5: account_id: required value is missing", id="account-missing"
        ),
        pytest.param(
            "E-9,A-7,2025-05-03,x,", "events.csv:5: account_id: unknown account 'A-7'", id="account-unknown"
        ),
        pytest.param(
            "E-9,A-1,,x,", "events.csv:5: occurred_at: required value is missing", id="occurred-missing"
        ),
        pytest.param(
            "E-9,A-1,yesterday,x,",
            "events.csv:5: occurred_at: cannot read 'yesterday' as an ISO date (YYYY-MM-DD) or datetime",
            id="occurred-unreadable",
        ),
        pytest.param(
            "E-9,A-1,2025-05-03T25:00:00,x,",
            "events.csv:5: occurred_at: cannot read '2025-05-03T25:00:00' as an ISO date (YYYY-MM-DD) "
            "or datetime",
            id="occurred-bad-hour",
        ),
        pytest.param(
            "E-9,A-1,2025-05-03,,", "events.csv:5: event: required value is missing", id="event-missing"
        ),
        pytest.param(
            f"E-9,A-1,2025-05-03,{LONG_NAME},",
            "events.csv:5: event: is 121 characters long; at most 120 are allowed",
            id="event-too-long",
        ),
        pytest.param(
            "E-9,A-1,2025-05-03,Invite Blocked,",
            "events.csv:5: event: 'Invite Blocked' is not an event name; use only lower-case letters, "
            "digits and _ . : -",
            id="event-bad-name",
        ),
        pytest.param(
            'E-9,A-1,2025-05-03,x,"{""seats"": }"',
            "events.csv:5: properties: is not valid JSON (Expecting value at character 10); expected a JSON "
            "object such as {}",
            id="properties-not-json",
        ),
        pytest.param(
            'E-9,A-1,2025-05-03,x,"[1, 2]"',
            "events.csv:5: properties: is a JSON list, not an object; expected a JSON object such as {}",
            id="properties-a-list",
        ),
        pytest.param(
            'E-9,A-1,2025-05-03,x,"{""seats"": NaN}"',
            "events.csv:5: properties: holds NaN, which JSON does not allow; write null or a number",
            id="properties-nan",
        ),
    ],
)
def test_a_bad_row_rejects_the_whole_file_with_its_reason(accounts, sent, row, error):
    # when
    errors = rejected(EVENTS + row + "\n")

    # then
    assert errors == [error]
    assert ProductEvent.objects.count() == 0
    assert sent == []


def test_every_bad_row_is_listed(accounts):
    # when
    errors = rejected(EVENTS + "E-1,A-9,2025-05-03,x,\nE-1,A-1,2025-05-03,x,\n")

    # then
    assert errors == [
        "events.csv:5: account_id: unknown account 'A-9'",
        "events.csv:5: event_id: duplicate event_id 'E-1' in this file (first on line 2)",
        "events.csv:6: event_id: duplicate event_id 'E-1' in this file (first on line 2)",
    ]


def test_occurred_at_more_than_a_day_ahead_is_rejected_and_less_is_accepted(accounts):
    # given
    now = dt.datetime.now(UTC).replace(microsecond=0)
    soon, late = now + dt.timedelta(hours=23), now + dt.timedelta(hours=25)

    # when
    errors = rejected(
        HEADER + f"E-1,A-1,{soon:%Y-%m-%dT%H:%M:%S}Z,x,\nE-2,A-1,{late:%Y-%m-%dT%H:%M:%S}Z,x,\n"
    )
    result = load(HEADER + f"E-1,A-1,{soon:%Y-%m-%dT%H:%M:%S}Z,x,\n")

    # then
    assert len(errors) == 1
    assert errors[0].startswith(
        f"events.csv:3: occurred_at: {late:%Y-%m-%dT%H:%M:%S}Z is more than 1 day in the future"
    )
    assert result.created == 1
    assert ProductEvent.objects.get().occurred_at == soon


def test_a_missing_required_column_is_named(accounts):
    # when
    errors = rejected("event_id,account_id,occurred_at\nE-1,A-1,2025-05-01\n")

    # then
    assert errors == ["events.csv:1: header: missing required column(s) event"]


# --- events_received -------------------------------------------------------------------------------


def test_events_received_is_sent_once_after_the_commit_with_the_new_events(
    accounts, sent, django_capture_on_commit_callbacks
):
    # given: E-9 is already stored on a third account, so it is a repeat here
    other = AccountFactory(account_id="A-3")
    ProductEventFactory(event_id="E-9", account=other, event="seen_before")

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        load(EVENTS + "E-9,A-3,2025-05-03,seen_before,\n")
        not_yet = list(sent)
    for callback in callbacks:
        callback()

    # then
    assert not_yet == []
    assert len(callbacks) == 1
    assert sent == [
        (
            sorted([accounts["A-1"].pk, accounts["A-2"].pk]),
            ["export.started:csv", "invite_blocked_seat_limit"],
        )
    ]


def test_events_received_is_not_sent_for_a_rejected_file(accounts, sent, django_capture_on_commit_callbacks):
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rejected(EVENTS + "E-9,A-7,2025-05-03,x,\n")

    # then
    assert callbacks == []
    assert sent == []


# --- warehouse sources -----------------------------------------------------------------------------


def test_a_source_syncs_events_incrementally_by_occurred_at(tmp_path):
    # given
    pq.write_table(users_table(), tmp_path / "users.parquet")
    pq.write_table(accounts_table(), tmp_path / "accounts.parquet")

    def events_table(ids, hours):
        return pa.table(
            {
                "event_id": ids,
                "account_id": ["A-1"] * len(ids),
                "occurred_at": [at(2025, 5, 1, h) for h in hours],
                "event": ["invite_blocked_seat_limit"] * len(ids),
                "properties": ['{"seats": 50}'] * len(ids),
            }
        )

    (tmp_path / "events").mkdir()
    pq.write_table(events_table(["E-1", "E-2"], [8, 9]), tmp_path / "events" / "part-1.parquet")
    WarehouseSource.objects.create(name="lake", kind="parquet", location=str(tmp_path))

    # when
    first = counts(sync("lake"), "lake")
    second = counts(sync("lake"), "lake")
    pq.write_table(events_table(["E-3"], [10]), tmp_path / "events" / "part-2.parquet")
    third = counts(sync("lake"), "lake")

    # then
    assert first["events"] == {"rows": 2, "created": 2, "updated": 0}
    assert second["events"] == {"rows": 0, "created": 0, "updated": 0}
    assert third["events"] == {"rows": 1, "created": 1, "updated": 0}
    assert SourceInput.objects.get(source__name="lake", input="events").watermark.startswith(
        "2025-05-01T10:00"
    )
    assert sorted(ProductEvent.objects.values_list("event_id", "occurred_at", "properties")) == [
        ("E-1", at(2025, 5, 1, 8), {"seats": 50}),
        ("E-2", at(2025, 5, 1, 9), {"seats": 50}),
        ("E-3", at(2025, 5, 1, 10), {"seats": 50}),
    ]


# --- POST /api/events/ -----------------------------------------------------------------------------

URL = "/api/events/"


def event(n: int, account: str = "A-1", **overrides) -> dict:
    return {
        "event_id": f"E-{n}",
        "account_id": account,
        "occurred_at": "2025-05-01T10:00:00Z",
        "event": "invite_blocked_seat_limit",
        **overrides,
    }


def post(client: APIClient, events) -> tuple[int, dict]:
    response = client.post(URL, {"events": events}, format="json")
    return response.status_code, response.json()


@pytest.fixture
def revops_client() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(role=Role.REVOPS))
    return client


def test_the_url_is_named_api_events():
    assert reverse("api-events") == URL


def test_revops_posts_events_and_they_are_stored(accounts, revops_client):
    # when
    code, body = post(
        revops_client, [event(1, properties={"seats": 50}), event(2, "A-2", occurred_at="2025-05-02")]
    )

    # then
    assert (code, body) == (201, {"received": 2, "created": 2, "duplicates": 0})
    assert stored() == [
        ("E-1", "A-1", at(2025, 5, 1, 10), "invite_blocked_seat_limit", {"seats": 50}),
        ("E-2", "A-2", at(2025, 5, 2), "invite_blocked_seat_limit", {}),
    ]


def test_posting_the_same_events_again_creates_nothing(accounts, revops_client):
    # given
    post(revops_client, [event(1), event(2)])
    before = stored()

    # when
    again = post(revops_client, [event(1), event(2, occurred_at="2025-06-01T00:00:00Z")])
    mixed = post(revops_client, [event(2), event(3)])

    # then
    assert again == (200, {"received": 2, "created": 0, "duplicates": 2})
    assert mixed == (201, {"received": 2, "created": 1, "duplicates": 1})
    assert stored()[:2] == before


def test_an_empty_batch_is_fine_and_creates_nothing(revops_client):
    assert post(revops_client, []) == (200, {"received": 0, "created": 0, "duplicates": 0})


def test_at_most_1000_events_per_request(accounts, revops_client):
    # when
    too_many = post(revops_client, [event(n) for n in range(1001)])
    at_limit = post(revops_client, [event(n) for n in range(1000)])

    # then
    assert too_many == (
        400,
        {"errors": ["events: 1,001 events in one request; at most 1,000 are allowed, send them in batches"]},
    )
    assert at_limit == (201, {"received": 1000, "created": 1000, "duplicates": 0})


def test_a_bad_event_rejects_the_batch_with_every_problem(
    accounts, revops_client, sent, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        code, body = post(
            revops_client,
            [
                event(1),
                event(2, occurred_at="soon"),
                event(1, "A-9"),
                event(4, properties=[1]),
                event(5, event="Seat Limit"),
                {"event_id": "E-6", "account_id": "A-1", "occurred_at": "2025-05-01"},
                event(7, account=None, event=None, properties=None),
            ],
        )

    # then
    assert code == 400
    assert body == {
        "errors": [
            "events[1].occurred_at: cannot read 'soon' as an ISO date (YYYY-MM-DD) or datetime",
            "events[2].account_id: unknown account 'A-9'",
            "events[2].event_id: duplicate event_id 'E-1' in this request (first at events[0])",
            "events[3].properties: is a JSON list, not an object; expected a JSON object such as {}",
            "events[4].event: 'Seat Limit' is not an event name; use only lower-case letters, digits "
            "and _ . : -",
            "events[5].event: required value is missing",
            "events[6].account_id: required value is missing",
            "events[6].event: required value is missing",
        ]
    }
    assert ProductEvent.objects.count() == 0
    assert sent == []


def test_a_future_event_is_refused_through_the_api_too(accounts, revops_client):
    # given
    late = dt.datetime.now(UTC) + dt.timedelta(days=2)

    # when
    code, body = post(revops_client, [event(1, occurred_at=late.isoformat())])

    # then
    assert code == 400
    assert body["errors"][0].startswith(
        f"events[0].occurred_at: {late.isoformat()} is more than 1 day in the future"
    )
    assert ProductEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({}, ["events: This field is required."]),
        ({"events": {"event_id": "E-1"}}, ['events: Expected a list of items but got type "dict".']),
        ({"events": ["E-1"]}, ["events[0]: Invalid data. Expected a dictionary, but got str."]),
        ({"events": [{"event_id": "E-1", "event": {"name": "x"}}]}, ["events[0].event: Not a valid string."]),
    ],
)
def test_a_body_of_the_wrong_shape_is_refused(revops_client, payload, errors):
    # when
    response = revops_client.post(URL, payload, format="json")

    # then
    assert (response.status_code, response.json()) == (400, {"errors": errors})
    assert ProductEvent.objects.count() == 0


def test_events_received_is_sent_after_an_api_commit_and_not_for_duplicates(
    accounts, revops_client, sent, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        post(revops_client, [event(1), event(2, "A-2", event="export.started")])
    first = list(sent)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(revops_client, [event(1), event(2, "A-2")])

    # then
    assert first == [
        (sorted([accounts["A-1"].pk, accounts["A-2"].pk]), ["export.started", "invite_blocked_seat_limit"])
    ]
    assert callbacks == []
    assert sent == first


def test_a_revops_token_may_post_events(accounts):
    # given
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(role=Role.REVOPS)).key}"
    )

    # when
    code, body = post(client, [event(1)])

    # then
    assert (code, body) == (201, {"received": 1, "created": 1, "duplicates": 0})


def test_a_superuser_without_a_role_may_post_events(accounts):
    # given
    client = APIClient()
    client.force_login(UserFactory(role="", is_superuser=True, is_staff=True))

    # then
    assert post(client, [event(1)])[0] == 201


@pytest.mark.parametrize("role", [Role.FINANCE, Role.AE, Role.CSM, Role.MANAGER])
def test_other_roles_may_not_post_events_and_nothing_is_written(accounts, role):
    # given
    client = APIClient()
    client.force_login(UserFactory(role=role))

    # when
    code, body = post(client, [event(1)])

    # then
    assert (code, body) == (403, {"detail": IsRevOps.message})
    assert ProductEvent.objects.count() == 0


def test_a_finance_token_and_anonymous_requests_are_refused(accounts):
    # given
    finance = APIClient()
    finance.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(role=Role.FINANCE)).key}"
    )

    # then
    assert post(finance, [event(1)])[0] == 403
    assert post(APIClient(), [event(1)])[0] == 401
    assert ProductEvent.objects.count() == 0


def test_the_openapi_schema_documents_the_events_api(revops_client):
    # when
    schema = revops_client.get(reverse("api-schema"), {"format": "json"}).json()

    # then
    operation = schema["paths"]["/api/events/"]["post"]
    assert operation["operationId"] == "events_ingest"
    assert {"200", "201", "400", "403"} <= set(operation["responses"])
    body = schema["components"]["schemas"]["EventsIngestRequest"]["properties"]["events"]
    assert body["description"] == "At most 1000 events."


# --- events_frame ----------------------------------------------------------------------------------


def test_events_frame_filters_by_name_time_and_account_range(django_assert_num_queries):
    # given
    a, b, c = (AccountFactory() for _ in range(3))
    ProductEventFactory(account=a, event="invite_blocked_seat_limit", occurred_at=at(2025, 5, 1, 10))
    ProductEventFactory(account=b, event="invite_blocked_seat_limit", occurred_at=at(2025, 5, 2, 10))
    ProductEventFactory(account=c, event="export.started", occurred_at=at(2025, 5, 2, 11))
    ProductEventFactory(account=a, event="other", occurred_at=at(2025, 5, 2, 12))
    ProductEventFactory(account=b, event="invite_blocked_seat_limit", occurred_at=at(2025, 4, 30, 23, 59))
    ProductEventFactory(account=c, event="invite_blocked_seat_limit", occurred_at=at(2025, 5, 3))
    names = ["invite_blocked_seat_limit", "export.started"]

    # when
    with django_assert_num_queries(1):
        frame = events_frame(names=names, since=at(2025, 5, 1, 10), until=at(2025, 5, 3))
    ranged = events_frame(names=names, since=at(2025, 5, 1), pk_range=(b.pk, c.pk))

    # then: since is inclusive, until exclusive
    assert sorted(frame.itertuples(index=False, name=None)) == [
        (a.pk, "invite_blocked_seat_limit", pd.Timestamp("2025-05-01 10:00", tz="UTC")),
        (b.pk, "invite_blocked_seat_limit", pd.Timestamp("2025-05-02 10:00", tz="UTC")),
        (c.pk, "export.started", pd.Timestamp("2025-05-02 11:00", tz="UTC")),
    ]
    assert list(frame.columns) == ["account", "event", "occurred_at"]
    assert str(frame["account"].dtype) == "int64"
    assert str(frame["occurred_at"].dtype) == "datetime64[ns, UTC]"
    assert sorted(ranged["account"].tolist()) == [b.pk, c.pk, c.pk]


def test_events_frame_is_empty_with_its_columns_when_nothing_matches():
    # given
    ProductEventFactory(event="other", occurred_at=at(2025, 5, 1))

    # when
    frames = [
        events_frame(names=["invite_blocked_seat_limit"], since=at(2025, 1, 1)),
        events_frame(names=[], since=at(2025, 1, 1)),
    ]

    # then
    for frame in frames:
        assert frame.empty
        assert list(frame.columns) == ["account", "event", "occurred_at"]
        assert str(frame["occurred_at"].dtype) == "datetime64[ns, UTC]"
