"""The signal report's charts agree with the numbers on the same page (hand-built EQLs, known answers).

Each test builds a few EQLs whose outcomes are known, renders /reports/signals/ and compares the plotly
figure handed to the page (``response.context["figures"]``, the dict ``json_script`` writes) with the
tiles, the weekly table and the fire-rate table of the same response.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.figure_text import figure_tables
from dashboards.formatting import share
from expansion.models import Role
from tests.factories import AccountFactory, ActivityFactory, EQLFactory, UsageSnapshotFactory, UserFactory

pytestmark = pytest.mark.django_db

SIGNALS = reverse("reports-signals")


def at(day: dt.date, hour: float = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


def monday(days_ago: int) -> dt.date:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return day - dt.timedelta(days=day.weekday())


@pytest.fixture
def revops(client):
    user = UserFactory(email="daniel@example.com", name="Daniel RevOps", role=Role.REVOPS)
    client.force_login(user)
    return user


@pytest.fixture
def ae():
    return UserFactory(email="maya@example.com", name="Maya AE", role=Role.AE)


def eql(ae, created: dt.date, *events: tuple[str, float], signal: str = "seat_utilisation", won_arr=None):
    """An AE EQL assigned at 09:00 on ``created`` with ``events`` (event, hours after assignment)."""
    record = EQLFactory(
        account=AccountFactory(customer_since=created - dt.timedelta(days=400)),
        owner=ae,
        primary_signal=signal,
        triggered_signals=[{"signal": signal}],
        created_at=at(created),
        assigned_at=at(created),
        sla_deadline=at(created) + dt.timedelta(hours=24),
    )
    for event, hours in events:
        ActivityFactory(
            account=record.account,
            eql=record,
            event=event,
            occurred_at=at(created, 9 + hours),
            type="eql_event",
            commercial=False,
        )
    if events and events[-1][0] == "won":
        record.status, record.won_arr, record.closed_at = (
            "won",
            Decimal(won_arr),
            at(created, 9 + events[-1][1]),
        )
        record.save()
    return record


def figure_json(html: str, name: str) -> dict:
    match = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"{name} is not on the page"
    return json.loads(match.group(1))


def test_accuracy_chart_points_are_the_weekly_tables_accuracy(client, revops, ae):
    # given: two matured weeks of assignments: 1 of 2 converted 10 weeks ago, 3 of 4 seven weeks ago
    early, late = monday(70), monday(49)
    eql(ae, early, ("contacted", 2), ("call_booked", 48))
    eql(ae, early, ("contacted", 2))
    for converts in (True, True, True, False):
        eql(ae, late, ("contacted", 3), *([("call_booked", 72)] if converts else []))

    # when
    response = client.get(SIGNALS)

    # then: the "All signals" line has exactly the two matured weeks at the table's accuracy
    figure = response.context["figures"]["accuracy"]
    line = next(t for t in figure["data"] if t["name"] == "All signals")
    assert line["x"] == [early.isoformat(), late.isoformat()]
    assert line["y"] == [0.5, 0.75]
    rows = {r["week"]: r for r in response.context["week_rows"]}
    assert (rows[early]["accuracy"], rows[early]["matured"]) == ("50%", 2)
    assert (rows[late]["accuracy"], rows[late]["matured"]) == ("75%", 4)
    assert response.context["overall"]["accuracy"] == "67%"  # 4 of 6
    assert response.context["overall"]["accuracy_n"] == "4/6"
    # the page hands plotly the same figure, on a date axis
    html = response.content.decode()
    assert figure_json(html, "fig-accuracy") == figure
    assert figure["layout"]["xaxis"]["type"] == "date"


def test_no_matured_eql_means_no_accuracy_chart_and_says_when_the_first_matures(client, revops, ae):
    # given: one EQL assigned five days ago (its 30-day window is open)
    created = timezone.localdate() - dt.timedelta(days=5)
    eql(ae, created, ("contacted", 1))

    # when
    response = client.get(SIGNALS)

    # then: no empty plot (it drew a -1..6 axis), a sentence instead
    html = response.content.decode()
    assert response.context["figures"]["accuracy"] is None
    assert 'data-figure="fig-accuracy"' not in html
    first = created + dt.timedelta(days=30)
    assert (
        "No EQL has matured yet: accuracy is read 30 days after assignment; the first window closes on "
        f"{first.day} {first:%b} {first.year}." in html
    )


def test_time_to_contact_bins_agree_with_the_median_and_p90(client, revops, ae):
    # given: five EQLs contacted within minutes of assignment (the demo's "0.0 h" case)
    created = timezone.localdate() - dt.timedelta(days=3)
    for minutes in (3, 6, 6, 9, 12):
        eql(ae, created, ("contacted", minutes / 60))

    # when
    response = client.get(SIGNALS)

    # then: the tiles read the values the histogram holds, in bins small enough to show them
    overall = response.context["overall"]
    assert (overall["ttfc_median"], overall["ttfc_p90"], overall["contacted"]) == ("0.1 h", "0.2 h", 5)
    figure = response.context["figures"]["ttfc"]
    (trace,) = figure["data"]
    assert sorted(trace["x"]) == [0.05, 0.1, 0.1, 0.15, 0.2]
    assert trace["xbins"] == {"start": 0, "size": 0.25}
    assert figure["layout"]["xaxis"]["range"] == [0, 0.25]
    assert figure["layout"]["bargap"] == 0
    assert [s["x0"] for s in figure["layout"]["shapes"]] == [0.1, 0.2]  # median, p90
    (table,) = figure_tables(figure)
    assert table.rows == [("0 to 0.25", ["5"])]


def test_time_to_contact_over_a_day_uses_four_hour_bins_counting_every_contacted_eql(client, revops, ae):
    # given: contacts after 1, 3, 5, 30 and 40 hours
    created = timezone.localdate() - dt.timedelta(days=4)
    for hours in (1, 3, 5, 30, 40):
        eql(ae, created, ("contacted", hours))

    # when
    response = client.get(SIGNALS)

    # then
    overall = response.context["overall"]
    assert (overall["ttfc_median"], overall["ttfc_p90"]) == ("5.0 h", "36.0 h")
    (table,) = figure_tables(response.context["figures"]["ttfc"])
    assert table.rows == [("0 to 4", ["2"]), ("4 to 8", ["1"]), ("28 to 32", ["1"]), ("40 to 44", ["1"])]
    assert sum(int(counts[0]) for _, counts in table.rows) == overall["contacted"]
    assert response.context["figures"]["ttfc"]["layout"]["xaxis"]["range"] == [0, 44]


def test_fire_chart_bars_are_the_fire_tables_rates(client, revops, ae):
    # given: 3 EQLs on 3 of the 4 eligible accounts (the fourth has none)
    created = timezone.localdate() - dt.timedelta(days=2)
    eql(ae, created, signal="seat_utilisation")
    eql(ae, created, signal="seat_utilisation")
    eql(ae, created, signal="api_rate_approach")
    AccountFactory(customer_since=created - dt.timedelta(days=400))

    # when
    response = client.get(SIGNALS)

    # then: seat 2 of 4 (50%), api 1 of 4 (25%) in the bars and in the table
    figure = response.context["figures"]["fire"]
    bars = {t["name"]: t for t in figure["data"]}
    assert bars["Seat utilisation"]["y"] == [0.5]
    assert bars["Seat utilisation"]["customdata"] == [[2, 4]]
    assert bars["API rate approach"]["y"] == [0.25]
    cells = {r["name"]: r["cells"][0] for r in response.context["fire_rows"]}
    assert (cells["Seat utilisation"]["rate"], cells["Seat utilisation"]["fired"]) == ("50.0%", 2)
    assert (cells["API rate approach"]["rate"], cells["API rate approach"]["eligible"]) == ("25.0%", 4)


def test_to_won_never_reads_zero_beside_a_won_eql(client, revops, ae):
    # given: 1 won of 300 EQLs
    created = timezone.localdate() - dt.timedelta(days=40)
    eql(ae, created, ("contacted", 1), ("call_booked", 30), ("won", 300), won_arr="12000")
    for _ in range(299):
        EQLFactory(
            account=AccountFactory(), owner=ae, primary_signal="seat_utilisation", created_at=at(created)
        )

    # when
    response = client.get(SIGNALS)

    # then
    overall = response.context["overall"]
    assert (overall["won"], overall["won_n"]) == ("0.3%", 1)
    assert '0.3%<span class="small">1 won' in response.content.decode()


@pytest.mark.parametrize(
    ("count", "total", "text"),
    [
        (0, 5, "0%"),
        (1, 3, "33%"),
        (1, 256, "0.4%"),
        (255, 256, "99.6%"),
        (1, 3000, "<0.1%"),
        (2999, 3000, ">99.9%"),
        (5, 5, "100%"),
        (0, 0, "—"),
    ],
)
def test_share_never_contradicts_its_count(count, total, text):
    assert share(count, total) == text


def test_the_period_covers_every_eql_on_record_and_says_so(client, revops, ae):
    # given: EQLs 13 months apart
    first = timezone.localdate() - dt.timedelta(days=395)
    eql(ae, first, ("contacted", 1))
    eql(ae, timezone.localdate() - dt.timedelta(days=3), ("contacted", 1))

    # when
    response = client.get(SIGNALS)

    # then
    html = response.content.decode()
    today = timezone.localdate()
    first_monday = first - dt.timedelta(days=first.weekday())
    weeks = (
        (today - dt.timedelta(days=today.weekday())) - first_monday
    ).days // 7 + 1  # calendar weeks (Monday to Sunday) from the first EQL's to today's
    assert (
        f"Period: {first.day} {first:%b} {first.year} (the first EQL) to "
        f"{today.day} {today:%b} {today.year}, {weeks} weeks: every EQL on record." in html
    )
    assert response.context["weeks_total"] == weeks


def test_replays_start_at_the_first_usage_snapshot_on_record():
    # given: usage snapshots for 40 days only
    from dashboards.backtest_views import replay_period

    last = timezone.localdate() - dt.timedelta(days=1)
    UsageSnapshotFactory(date=last - dt.timedelta(days=40))
    UsageSnapshotFactory(date=last)

    # when/then: a 12-month replay covers the 40 days, not 11 months of zero EQLs before them
    assert replay_period(364) == (last - dt.timedelta(days=40), last)
    assert replay_period(14) == (last - dt.timedelta(days=14), last)
