"""What an EQL looks like in the CRM (routing.crm.payload): pure, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from routing.crm import payload

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def facts(**overrides) -> payload.EqlFacts:
    base = {
        "eql_id": 42,
        "account_name": "Acme",
        "crm_account_id": "0015g00000ABCDEAA5",
        "status": "new",
        "score": 85,
        "priority": "high",
        "route": "ae",
        "primary_signal": "seat_utilisation",
        "triggered_signals": (
            {"signal": "seat_utilisation", "value": 0.96, "threshold": 0.9, "points": 40},
            {"signal": "api_usage", "value": 850000.0, "threshold": 800000.0, "points": 25},
        ),
        "owner_email": "alex@example.com",
        "csm_email": "casey@example.com",
        "contract_arr": Decimal("48000.00"),
        "estimate": Decimal("12000.00"),
        "estimate_source": "calibrated",
        "won_arr": None,
        "opening_angle": "Your team is at 96% of its seats.",
        "discovery_questions": ("Who is waiting for a seat?", "When do you hire next?"),
        "created_at": dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        "closed_at": None,
        "sla_deadline": dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC),
    }
    return payload.EqlFacts(**{**base, **overrides})


def values(f=None, kind=payload.SALESFORCE, obj="Opportunity", owner="005000000000001AAA"):
    return payload.source_values(
        f or facts(),
        owner_crm_id=owner,
        stages=payload.DEFAULT_STAGES[(kind, obj)],
        currency="EUR",
        app_base_url="https://eql.example.com/",
        kind=kind,
        now=NOW,
    )


def test_the_three_questions_are_written_as_text():
    v = values()

    assert v["why_now"] == (
        "Seat utilisation: 0.96 (threshold 0.90, 40 pts)\nAPI usage: 850,000 (threshold 800,000, 25 pts)"
    )
    assert v["worth"] == "Estimated expansion €12,000 (calibrated); contract ARR €48,000"
    assert v["what_to_say"] == (
        "Your team is at 96% of its seats.\nDiscovery questions:\n"
        "1. Who is waiting for a seat?\n2. When do you hire next?"
    )
    assert v["link"] == "https://eql.example.com/eqls/42/"
    assert v["title"] == "Expansion: Acme - Seat utilisation"


def test_salesforce_dates_are_iso_and_hubspot_dates_are_epoch_milliseconds():
    sf = values()
    hs = values(kind=payload.HUBSPOT, obj="deals")

    assert sf["close_date"] == "2027-03-01"  # created + 90 days
    assert sf["sla_deadline"] == "2026-12-02T09:00:00Z"
    assert hs["close_date"] == str(int(dt.datetime(2027, 3, 1, tzinfo=UTC).timestamp() * 1000))
    assert hs["sla_deadline"] == str(int(dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC).timestamp() * 1000))


@pytest.mark.parametrize(
    ("status", "kind", "obj", "stage"),
    [
        ("new", payload.SALESFORCE, "Opportunity", "Prospecting"),
        ("proposal_sent", payload.SALESFORCE, "Opportunity", "Proposal/Price Quote"),
        ("won", payload.SALESFORCE, "Opportunity", "Closed Won"),
        ("declined", payload.HUBSPOT, "deals", "closedlost"),
        ("contacted", payload.HUBSPOT, "tasks", "IN_PROGRESS"),
    ],
)
def test_stage_follows_the_status(status, kind, obj, stage):
    assert values(facts(status=status), kind=kind, obj=obj)["stage"] == stage


def test_amount_is_the_won_arr_once_won_and_the_close_date_is_the_closing_day():
    closed = dt.datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
    v = values(facts(status="won", won_arr=Decimal("15500.00"), closed_at=closed))

    assert v["amount"] == 15500.0
    assert v["close_date"] == "2026-12-20"
    assert v["is_closed"] is True
    assert "won €15,500" in v["worth"]


def test_render_maps_fields_and_leaves_out_empty_optional_values():
    rules = (
        payload.FieldRule("Name", "title"),
        payload.FieldRule("AccountId", "account", required=True),
        payload.FieldRule("EQL_CSM_Email__c", "csm_email"),
    )

    rendered = payload.render("EQL_Id__c", rules, values(facts(csm_email="")))

    assert rendered.problem is None
    assert rendered.fields == {
        "EQL_Id__c": "42",
        "Name": "Expansion: Acme - Seat utilisation",
        "AccountId": "0015g00000ABCDEAA5",
    }


def test_render_refuses_a_record_whose_required_account_is_not_linked():
    rules = (payload.FieldRule("AccountId", "account", required=True),)

    rendered = payload.render("EQL_Id__c", rules, values(facts(crm_account_id="")))

    assert rendered.fields == {}
    assert rendered.problem == (
        "ACCOUNT_NOT_LINKED",
        "AccountId: the account has no crm_account_id; add it to accounts.csv so the record can be linked",
    )


def test_render_skips_fields_the_crm_now_owns():
    rules = (payload.FieldRule("OwnerId", "owner"), payload.FieldRule("Name", "title"))

    rendered = payload.render("EQL_Id__c", rules, values(), skip=["OwnerId"])

    assert set(rendered.fields) == {"EQL_Id__c", "Name"}


def test_payload_hash_ignores_order_and_sees_any_change():
    a = payload.payload_hash({"x": 1, "y": "two"})

    assert a == payload.payload_hash({"y": "two", "x": 1})
    assert a != payload.payload_hash({"x": 1, "y": "three"})


def test_default_mappings_are_valid():
    for (kind, obj), rows in payload.DEFAULT_FIELDS.items():
        rules = [payload.FieldRule(f, s, r) for f, s, r in rows]
        key = "EQL_Id__c" if kind == payload.SALESFORCE else "eql_id"
        problems = payload.mapping_problems(
            kind=kind, object_type=obj, key_field=key, rules=rules, stages=payload.DEFAULT_STAGES[(kind, obj)]
        )
        assert problems == [], (kind, obj)


def test_mapping_problems_name_what_to_fix():
    rules = [
        payload.FieldRule("Name", "title"),
        payload.FieldRule("Name", "score"),
        payload.FieldRule("EQL_Id__c", "score"),
        payload.FieldRule("StageName", "stage"),
    ]
    stages = {
        **payload.DEFAULT_STAGES[(payload.SALESFORCE, "Opportunity")],
        "lost": "Closed Won",
        "call_booked": "",
    }

    problems = payload.mapping_problems(
        kind=payload.SALESFORCE, object_type="Opportunity", key_field="EQL_Id__c", rules=rules, stages=stages
    )

    assert problems == [
        "Name is mapped twice; a CRM field gets one EQL value",
        "EQL_Id__c is the upsert key; it always gets the EQL id",
        "the stage mapping has no CRM stage for: call booked",
        "won and lost map to the same CRM stage, so an outcome read back would be ambiguous",
    ]


@pytest.mark.parametrize(
    ("stage", "outcome"),
    [("Closed Won", "won"), ("Closed Lost", "lost"), ("Negotiation/Review", None), ("", None)],
)
def test_outcome_of_a_stage_read_back(stage, outcome):
    assert payload.outcome_of(stage, payload.DEFAULT_STAGES[(payload.SALESFORCE, "Opportunity")]) == outcome
