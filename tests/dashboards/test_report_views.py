"""Report pages (dashboards.report_views): access, charts, CSV safety, bounded query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboards.metrics import DEFAULT_DIMENSIONS
from dashboards.snapshots import coverage_snapshot_store
from expansion.models import Role, Segment
from tests.factories import (
    AccountFactory,
    ActivityFactory,
    EQLFactory,
    ExpansionFactory,
    MetricFactory,
    UsageSnapshotFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

COVERAGE = reverse("reports-coverage")
UNTOUCHED_CSV = reverse("reports-coverage-untouched-csv")
SIGNALS = reverse("reports-signals")
KPIS = reverse("reports-kpis")
PAGES = (COVERAGE, UNTOUCHED_CSV, SIGNALS, KPIS)
METRICS = ("features_used", "seats_active", "api_calls_30d", "automation_workflows")
SIGNAL_KEYS = ("seat_utilisation", "api_rate_approach", "feature_adjacency")
SEGMENTS = (Segment.SMB, Segment.MIDMARKET, Segment.ENTERPRISE)
#: Queries per page, whatever the number of accounts and EQLs (see test_query_counts_are_bounded):
#: session + user (2), notification badge (2), then the page's frames. Coverage: its stored snapshot
#: (1) and the admin links of the listed accounts (1). The CSV: session + user, the snapshot (1, none
#: stored here), the diagnostic computed afresh (5), the owners (1).
#: KPIs: people (1), the EQL and event frames (2), accounts (1), both weeks' coverage from one read
#: (accounts, touch days, expansions, then metric ids and latest values per week: 7; it was 10).
#: KPIs: 2 of them the stage SLA breaches (the stage SLAs, the team's open EQLs).
PAGE_QUERIES = {COVERAGE: 6, UNTOUCHED_CSV: 9, SIGNALS: 8, KPIS: 17}
DIMENSIONS = {d.name: d for d in DEFAULT_DIMENSIONS}


def stored(as_of: dt.date | None = None, dims: tuple[str, ...] = (), k: int = 3):
    """The coverage snapshot the page reads, computed now (as a scoring pass or a worker would)."""
    return coverage_snapshot_store(
        as_of=as_of or timezone.localdate(),
        dimensions=tuple(DIMENSIONS[n] for n in dims) or DEFAULT_DIMENSIONS,
        min_top=k,
    )


@pytest.fixture
def people():
    manager = UserFactory(email="olivia@example.com", name="Olivia Manager", role=Role.MANAGER)
    other = UserFactory(email="oscar@example.com", name="Oscar Manager", role=Role.MANAGER)
    return {
        "manager": manager,
        "other_manager": other,
        "ae": UserFactory(email="maya@example.com", name="Maya AE", role=Role.AE, manager=manager),
        "csm": UserFactory(email="sofia@example.com", name="Sofia CSM", role=Role.CSM, manager=manager),
        "ae2": UserFactory(email="jonas@example.com", name="Jonas AE", role=Role.AE, manager=other),
        "revops": UserFactory(email="daniel@example.com", name="Daniel RevOps", role=Role.REVOPS),
        "finance": UserFactory(email="rachel@example.com", name="Rachel Finance", role=Role.FINANCE),
    }


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def build_book(n: int, people: dict, *, hostile_name: str = '=HYPERLINK("http://evil","x")') -> None:
    """``n`` eligible accounts with usage, touches, won expansions and a history of EQLs and events.

    Account ``n - 1`` uses the product most (top on every dimension) and nobody has talked to it: it is
    untouched and carries ``hostile_name``."""
    today = timezone.localdate()
    metrics = {name: MetricFactory(name=name) for name in METRICS}
    owners = (people["ae"], people["ae2"])
    for i in range(n):
        top = i == n - 1
        account = AccountFactory(
            name=hostile_name if top else f"Customer {i:03d}",
            segment=SEGMENTS[i % len(SEGMENTS)],
            contract_arr=Decimal(20000 + 1000 * i),
            customer_since=today - dt.timedelta(days=700),
            ae=owners[i % 2],
            csm=people["csm"],
        )
        for days_ago in (40, 5):
            for j, name in enumerate(METRICS):
                UsageSnapshotFactory(
                    account=account,
                    metric=metrics[name],
                    date=today - dt.timedelta(days=days_ago),
                    value=10 * i + j,
                )
        if not top and i % 2 == 0:
            ActivityFactory(account=account, occurred_at=at(today - dt.timedelta(days=20 + i)))
        if not top and i % 3 == 0:
            ExpansionFactory(account=account, closed_date=today - dt.timedelta(days=10))
        created = today - dt.timedelta(days=(7 * i) % 120 + 1)
        eql = EQLFactory(
            account=account,
            owner=owners[i % 2],
            csm=people["csm"],
            primary_signal=SIGNAL_KEYS[i % 3],
            triggered_signals=[{"signal": SIGNAL_KEYS[i % 3]}, {"signal": "automation_depth"}],
            created_at=at(created),
            assigned_at=at(created),
            sla_breached=i % 4 == 0,
            route="csm_review" if i % 7 == 6 else "ae",
        )
        steps = [("contacted", 1, 13)]
        if i % 2 == 0:
            steps.append(("call_booked", 3, 10))
        if i % 5 == 0:
            steps.append(("declined", 4, 10))
        elif i % 3 == 0:
            steps.append(("won", 20, 10))
        status = "new"
        for event, days, hour in steps:
            when = at(created + dt.timedelta(days=days), hour)
            if when.date() > today:
                break
            ActivityFactory(
                account=account, eql=eql, event=event, occurred_at=when, type="eql_event", commercial=False
            )
            status = event
        if status == "won":
            eql.status, eql.won_arr, eql.closed_at = "won", Decimal("8000"), when
            eql.save()


@pytest.fixture
def book(people):
    build_book(8, people)
    return people


# --------------------------------------------------------------------------------------------- access


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role", ["ae", "csm"])
def test_aes_and_csms_are_refused(client, people, url, role):
    client.force_login(people[role])

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("url", PAGES)
def test_reports_are_read_only(client, people, url):
    client.force_login(people["revops"])

    assert client.post(url).status_code == 405


@pytest.mark.parametrize("role", ["revops", "manager", "finance", "superuser"])
def test_coverage_page_renders_for_readers(client, book, role):
    user = UserFactory(is_superuser=True, is_staff=True, role="") if role == "superuser" else book[role]
    client.force_login(user)
    stored()

    response = client.get(COVERAGE)

    assert response.status_code == 200
    html = response.content.decode()
    for marker in (
        'data-figure="fig-breakdown"',
        'data-figure="fig-trend"',
        'id="fig-breakdown"',
        "plotly.min.js",
    ):
        assert marker in html
    assert 'src="http' not in html  # plotly.js is served locally, never from a CDN
    result = response.context["result"]
    assert result["eligible"] == 8
    assert result["untouched"] >= 1
    assert "Conservative" in html
    assert "Middle" in html
    assert "Upside" in html


@pytest.mark.parametrize("role", ["revops", "manager", "finance"])
def test_signal_page_renders_for_readers(client, book, role):
    client.force_login(book[role])

    response = client.get(SIGNALS)

    assert response.status_code == 200
    html = response.content.decode()
    for figure in ("fig-accuracy", "fig-fire", "fig-ttfc"):
        assert f'data-figure="{figure}"' in html
        assert f'id="{figure}"' in html
    assert "Seat utilisation" in html
    assert response.context["overall"]["eqls"] == 7  # one of the 8 records is a CSM review item


@pytest.mark.parametrize("role", ["revops", "manager", "finance"])
def test_kpi_page_renders_for_readers(client, book, role):
    client.force_login(book[role])

    response = client.get(KPIS)

    assert response.status_code == 200
    assert 'data-testid="kpi-table"' in response.content.decode()


# ------------------------------------------------------------------------------------------- coverage


def test_untouched_list_links_to_the_account_admin(client, book):
    client.force_login(book["revops"])
    stored()

    response = client.get(COVERAGE)

    rows = response.context["untouched_rows"]
    assert rows
    first = rows[0]
    assert f'href="/admin/expansion/account/{first["link"].pk}/change/"' in response.content.decode()


def test_coverage_parameters(client, book):
    client.force_login(book["revops"])
    today = timezone.localdate()
    stored(today, ("seat utilisation", "API consumption"), k=2)

    response = client.get(
        COVERAGE, {"as_of": today.isoformat(), "k": "2", "dim": ["seat_utilisation", "api_consumption"]}
    )

    assert response.status_code == 200
    result = response.context["result"]
    assert [d["name"] for d in result["dimensions"]] == ["seat utilisation", "API consumption"]
    assert result["min_top"] == 2
    assert "k=2" in response.context["csv_url_query"]
    assert "dim=seat_utilisation" in response.context["csv_url_query"]


def test_the_coverage_trend_covers_at_most_24_months(client, people):
    today = timezone.localdate()
    account = AccountFactory(customer_since=today - dt.timedelta(days=2000))
    for days_ago in (1300, 3):
        UsageSnapshotFactory(
            account=account,
            metric=MetricFactory(name="features_used"),
            date=today - dt.timedelta(days=days_ago),
        )
    client.force_login(people["revops"])
    stored()

    trend = client.get(COVERAGE).context["trend"]

    assert len(trend) == 24
    assert trend[-1]["as_of"] == today.isoformat()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"as_of": "31/12/2025"}, "use YYYY-MM-DD"),
        ({"as_of": "2999-01-01"}, "in the future"),
        ({"k": "9"}, "k must be between 1 and 4"),
        ({"k": "three"}, "not a whole number"),
        ({"dim": "charm"}, "Unknown dimension charm"),
    ],
)
def test_bad_coverage_parameters_explain_themselves(client, people, params, message):
    client.force_login(people["revops"])

    response = client.get(COVERAGE, params)

    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize("from_snapshot", [True, False])
def test_untouched_csv_neutralises_formula_like_cells(client, people, from_snapshot):
    build_book(6, people, hostile_name='=HYPERLINK("http://evil","x")')
    if from_snapshot:
        stored()
    client.force_login(people["finance"])

    response = client.get(UNTOUCHED_CSV)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["account_id", "name", "segment"]
    assert header[-2:] == ["ae", "csm"]
    names = [r[1] for r in body]
    assert '\'=HYPERLINK("http://evil","x")' in names
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in body for cell in row)
    assert body[0][-2:] == ["Jonas AE", "Sofia CSM"]


@pytest.mark.parametrize("prefix", ["+", "-", "@"])
def test_every_formula_prefix_is_neutralised(client, people, prefix):
    build_book(5, people, hostile_name=f"{prefix}cmd|' /C calc'!A0")
    client.force_login(people["revops"])

    text = b"".join(client.get(UNTOUCHED_CSV).streaming_content).decode("utf-8-sig")

    assert f"'{prefix}cmd|' /C calc'!A0" in text


# -------------------------------------------------------------------------------------------- signals


def test_signal_breakdown_by_owner_and_segment(client, book):
    client.force_login(book["revops"])

    by_owner = client.get(SIGNALS, {"by": "owner"})
    by_segment = client.get(SIGNALS, {"by": "segment"})
    wrong = client.get(SIGNALS, {"by": "horoscope"})

    assert 'data-testid="breakdown-owner"' in by_owner.content.decode()
    assert [r["name"] for r in by_owner.context["group_rows"]] == ["Jonas AE", "Maya AE"]
    assert [r["name"] for r in by_segment.context["group_rows"]] == ["SMB", "Mid-market", "Enterprise"]
    assert wrong.context["by"] == "signal"
    assert "showing by signal" in wrong.content.decode()


def test_weekly_table_for_one_signal(client, book):
    client.force_login(book["revops"])

    everything = client.get(SIGNALS)
    seat = client.get(SIGNALS, {"signal": "seat_utilisation"})
    unknown = client.get(SIGNALS, {"signal": "astrology"})

    assert sum(w["eqls"] for w in everything.context["week_rows"]) == 7
    assert sum(w["eqls"] for w in seat.context["week_rows"]) == 2  # accounts 0 and 3 (6 is a review item)
    assert seat.context["week_signal"] == "seat_utilisation"
    assert unknown.context["errors"] == ["signal: no signal 'astrology'; showing all signals week by week."]


def test_signal_page_without_any_eql(client, people):
    client.force_login(people["revops"])

    response = client.get(SIGNALS)

    assert response.status_code == 200
    assert response.context["figures"] == {"accuracy": None, "fire": None, "ttfc": None}
    assert "No EQLs yet." in response.content.decode()


# ----------------------------------------------------------------------------------------------- KPIs


def test_a_manager_sees_their_reports_only(client, book):
    client.force_login(book["manager"])

    response = client.get(KPIS)

    assert [r["name"] for r in response.context["rows"]] == ["Maya AE", "Sofia CSM"]


def test_revops_sees_every_ae_and_csm_or_one_team(client, book):
    client.force_login(book["revops"])

    everyone = client.get(KPIS)
    team = client.get(KPIS, {"team": book["other_manager"].pk})

    assert [r["name"] for r in everyone.context["rows"]] == ["Jonas AE", "Maya AE", "Sofia CSM"]
    assert [r["name"] for r in team.context["rows"]] == ["Jonas AE"]


def test_kpi_week_selection(client, book):
    client.force_login(book["revops"])
    today = timezone.localdate()
    last = today - dt.timedelta(weeks=1)
    label = f"{last.isocalendar()[0]}-W{last.isocalendar()[1]:02d}"

    response = client.get(KPIS, {"week": label})
    bad = client.get(KPIS, {"week": "last tuesday"})

    assert response.context["week_label"] == label
    assert response.context["as_of"] == response.context["week_end"]
    assert "Next week" in response.content.decode()
    assert "is not an ISO week" in bad.content.decode()


def test_kpi_cells_show_this_week_beside_the_last(client, book):
    client.force_login(book["revops"])

    response = client.get(KPIS)

    cells = {c["key"]: c for c in response.context["team_row"]}
    assert set(cells) == {"eqls_created", "ttfc_median_hours", "accuracy", "coverage", "won_arr"}
    assert all("before" in c for c in cells.values())
    assert cells["coverage"]["detail"].endswith("ready")


# ------------------------------------------------------------------------------------------ query counts


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", PAGES)
def test_query_counts_are_bounded(client, people, url, django_assert_num_queries):
    """The same number of queries with 4 accounts and with 24 (6x the EQLs, events and snapshots)."""
    client.force_login(people["revops"])
    build_book(4, people)
    if url == COVERAGE:
        stored()
    small = _count(client, url)

    build_book(20, people)
    if url == COVERAGE:
        stored()
    with django_assert_num_queries(PAGE_QUERIES[url]):
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)

    assert small == PAGE_QUERIES[url]


def test_signal_breakdown_by_owner_costs_one_more_query(client, people, django_assert_num_queries):
    client.force_login(people["revops"])
    build_book(12, people)

    with django_assert_num_queries(PAGE_QUERIES[SIGNALS] + 1):
        client.get(SIGNALS, {"by": "owner"})


def test_kpi_coverage_is_read_once_for_both_weeks_and_matches_the_diagnostic(book):
    """The KPI page's two weeks of coverage come from one read and equal coverage_for at each day."""
    from dashboards.selectors import coverage_at_days, coverage_for

    today = timezone.localdate()
    week_before = today - dt.timedelta(days=7)

    with CaptureQueriesContext(connection) as ctx:
        both = coverage_at_days([today, week_before])

    assert len(ctx.captured_queries) == 7  # accounts, touch days, expansions; 2 per day for the metrics
    for day in (today, week_before):
        alone = coverage_for(day)
        columns = ["account_id", "expansion_ready", "covered"]  # what the KPIs read
        assert both[day].table[columns].to_dict("records") == alone.table[columns].to_dict("records")
        assert both[day].coverage_rate == alone.coverage_rate
    assert both[today].expansion_ready >= 1
