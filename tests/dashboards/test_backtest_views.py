"""Backtest pages (dashboards.backtest_views): start a run, its progress fragment and result, runs side
by side, RevOps-only access, the admin's "Preview impact" for an unsaved signal, query counts.

Celery runs tasks inline (tests/conftest.py); a run is queued on commit, so starting one is wrapped in
``django_capture_on_commit_callbacks(execute=True)``.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards import backtest_runs
from dashboards.models import BacktestRun
from expansion.models import Role, UsageSnapshot
from scoring import backtest_services as services
from scoring.models import SignalDefinition
from tests.factories import AccountFactory, ExpansionFactory, MetricFactory, UserFactory

pytestmark = pytest.mark.django_db

END = dt.date(2026, 3, 31)
DAYS = 130
HX = {"HTTP_HX_REQUEST": "true"}
QUIET = {"seats_active": 50, "api_calls_30d": 1_000, "automation_workflows": 2, "departments_active": 3}
HOT = {**QUIET, "seats_active": 95, "automation_workflows": 25}


@pytest.fixture
def people():
    return {
        "revops": UserFactory(email="revops@example.com", role=Role.REVOPS),
        "admin": UserFactory(email="root@example.com", role="", is_superuser=True, is_staff=True),
        "ae": UserFactory(email="ae@example.com", role=Role.AE, capacity=1),
        "csm": UserFactory(email="csm@example.com", role=Role.CSM),
        "manager": UserFactory(email="manager@example.com", role=Role.MANAGER),
        "finance": UserFactory(email="finance@example.com", role=Role.FINANCE),
    }


@pytest.fixture
def history(people):
    """Three accounts with 130 days of usage to END: one always hot (won deal 50 days before END),
    one quiet, one hot for the last 40 days (open deal 20 days before END)."""
    metrics = {name: MetricFactory(name=name) for name in QUIET}
    profiles = {
        AccountFactory(ae=people["ae"], seats_licensed=100): lambda back: HOT,
        AccountFactory(ae=people["ae"], seats_licensed=100): lambda back: QUIET,
        AccountFactory(seats_licensed=100): lambda back: HOT if back <= 40 else QUIET,
    }
    rows = []
    for account, profile in profiles.items():
        for back in range(DAYS):
            day = END - dt.timedelta(days=back)
            for name, value in profile(back).items():
                rows.append(UsageSnapshot(account=account, metric=metrics[name], date=day, value=value))
    UsageSnapshot.objects.bulk_create(rows)
    accounts = list(profiles)
    ExpansionFactory(account=accounts[0], created_date=END - dt.timedelta(days=50), status="won")
    ExpansionFactory(
        account=accounts[2], created_date=END - dt.timedelta(days=20), status="open", closed_date=None
    )
    return accounts


def form_data(**extra) -> dict:
    data = {
        "label": "Tighter seats",
        "start": (END - dt.timedelta(days=56)).isoformat(),
        "end": END.isoformat(),
        "step_days": "7",
        "match_window_days": "90",
    }
    data.update(extra)
    return data


def done_run(label: str, **overrides) -> BacktestRun:
    params = services.run_params(start=END - dt.timedelta(days=56), end=END, overrides=overrides)
    run = backtest_runs.backtest_run_create(params=params, label=label)
    return backtest_runs.backtest_run_execute(run_id=run.pk)


# --------------------------------------------------------------------------------------------------
# Starting a run, progress, result
# --------------------------------------------------------------------------------------------------


def test_revops_starts_a_run_and_sees_its_result(client, people, history, django_capture_on_commit_callbacks):
    client.force_login(people["revops"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("backtest-list"),
            form_data(**{"seat_utilisation__threshold": "0.95", "score_threshold": "60"}),
        )
    assert len(callbacks) == 1  # the Celery task, queued once the run row is committed
    run = BacktestRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("backtest", args=[run.pk])
    assert run.created_by == people["revops"]
    assert run.label == "Tighter seats"
    # Only what differs from the saved model is stored (the score threshold 60 is the saved one).
    assert run.params["overrides"] == {"seat_utilisation.threshold": 0.95}
    assert (run.status, run.progress) == (BacktestRun.Status.DONE, 100)
    # The always-hot account: 02-03 (matched by its deal 02-09, suppressed to 03-11) and 03-17; the
    # account hot since 02-19: 03-03 (seven hot days first). The quiet one: none.
    assert run.result["eqls"] == 3

    page = client.get(response["Location"]).content.decode()
    assert "seat_utilisation.threshold = 0.95" in page
    assert "Precision" in page
    assert "Recall" in page
    assert "EQLs per week" in page
    assert "By primary signal" in page
    assert "By owner (account AE) against capacity" in page
    assert 'id="bt-chart"' in page
    assert 'id="bt-chart-data"' in page
    assert "/static/js/plotly.min.js" in page
    assert "cdn" not in page.lower()
    assert 'hx-trigger="every 1s"' not in page  # finished: nothing polls


def test_list_shows_runs_the_form_and_a_compare_picker(client, people, history):
    first, second = done_run("Saved model"), done_run("Seats 0.95", **{"seat_utilisation.threshold": 0.95})
    client.force_login(people["revops"])
    response = client.get(reverse("backtest-list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="seat_utilisation__threshold"' in page
    assert 'placeholder="0.9"' in page
    assert 'name="api_rate_approach__points"' in page
    assert 'name="score_threshold"' in page
    # default period: up to 12 months to the last snapshot, from the first one (130 days of usage here)
    assert f'value="{END - dt.timedelta(days=DAYS - 1)}"' in page
    assert page.index("Seats 0.95") < page.index("Saved model")  # newest first
    assert f'name="ids" value="{first.pk}"' in page
    assert f'name="ids" value="{second.pk}"' in page
    assert "seat_utilisation.threshold = 0.95" in page


def test_an_invalid_form_says_why_and_starts_nothing(client, people, history):
    client.force_login(people["revops"])
    response = client.post(reverse("backtest-list"), form_data(start=END.isoformat(), end="2026-01-01"))
    assert response.status_code == 422
    assert "is before the start" in response.content.decode()
    response = client.post(reverse("backtest-list"), form_data(**{"seat_utilisation__points": "250"}))
    assert response.status_code == 422
    assert not BacktestRun.objects.exists()


def test_progress_fragment_polls_every_second_until_the_run_is_done(client, people, history):
    run = backtest_runs.backtest_run_create(
        params=services.run_params(start=END - dt.timedelta(days=14), end=END)
    )
    BacktestRun.objects.filter(pk=run.pk).update(status=BacktestRun.Status.RUNNING, progress=40)
    client.force_login(people["revops"])
    url = reverse("backtest-progress", args=[run.pk])

    page = client.get(reverse("backtest", args=[run.pk])).content.decode()
    assert f'hx-get="{url}"' in page
    assert 'hx-trigger="every 1s"' in page
    assert '<progress max="100" value="40"' in page
    assert '<meta http-equiv="refresh"' in page  # without JavaScript the page refreshes itself

    fragment = client.get(url, **HX).content.decode()
    assert fragment.lstrip().startswith(f'<section id="run-status-{run.pk}"')
    assert 'hx-trigger="every 1s"' in fragment
    assert "40% of the steps replayed" in fragment
    assert "<html" not in fragment

    backtest_runs.backtest_run_execute(run_id=run.pk)
    fragment = client.get(url, **HX).content.decode()
    assert 'hx-trigger="every 1s"' not in fragment  # done: the swapped-in result stops the polling
    assert "By primary signal" in fragment
    assert 'id="bt-chart-data"' in fragment

    response = client.get(f"{url}?ctx=compare", **HX)
    assert (response.status_code, response["HX-Refresh"]) == (204, "true")
    assert client.get(url).status_code == 302  # a plain GET goes to the run page


def test_a_failed_run_shows_its_error(client, people, history):
    run = BacktestRun.objects.create(
        params={"start": "2026-01-01", "end": "2026-02-01", "step_days": 7, "overrides": {"gone.points": 1}}
    )
    backtest_runs.backtest_run_execute(run_id=run.pk)
    client.force_login(people["revops"])
    page = client.get(reverse("backtest", args=[run.pk])).content.decode()
    assert "The run failed" in page
    assert "no signal with key" in page


def test_compare_shows_runs_side_by_side(client, people, history):
    saved, tight = done_run("Saved model"), done_run("Seats 0.97", **{"seat_utilisation.threshold": 0.97})
    assert tight.result["eqls"] < saved.result["eqls"]
    client.force_login(people["revops"])
    for query in (f"?ids={saved.pk},{tight.pk}", f"?ids={saved.pk}&ids={tight.pk}"):
        response = client.get(reverse("backtest-compare") + query)
        page = response.content.decode()
        assert response.status_code == 200
        assert f"#{saved.pk} Saved model" in page
        assert f"#{tight.pk} Seats 0.97" in page
        assert "seat_utilisation.threshold = 0.97" in page
        diff = tight.result["eqls"] - saved.result["eqls"]
        assert f'<span class="delta">{diff:+,}</span>' in page
        assert "By primary signal" in page
        assert 'id="bt-chart-data"' in page
    response = client.get(reverse("backtest-compare") + f"?ids={saved.pk},999999")
    assert response.status_code == 400
    assert "No run with id 999999" in response.content.decode()


def test_compare_waits_for_unfinished_runs(client, people, history):
    saved = done_run("Saved model")
    waiting = backtest_runs.backtest_run_create(
        params=services.run_params(start=END - dt.timedelta(days=14), end=END)
    )
    client.force_login(people["revops"])
    page = client.get(reverse("backtest-compare") + f"?ids={saved.pk},{waiting.pk}").content.decode()
    assert "appears when every run has finished" in page
    assert f'hx-get="{reverse("backtest-progress", args=[waiting.pk])}?ctx=compare"' in page


# --------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------


def _urls(run: BacktestRun, signal: SignalDefinition) -> list[tuple[str, str]]:
    return [
        ("get", reverse("backtest-list")),
        ("post", reverse("backtest-list")),
        ("get", reverse("backtest", args=[run.pk])),
        ("get", reverse("backtest-progress", args=[run.pk])),
        ("get", reverse("backtest-compare") + f"?ids={run.pk},{run.pk}"),
        ("post", reverse("backtest-signal-preview", args=[signal.pk])),
        ("post", reverse("backtest-signal-preview-new")),
    ]


@pytest.mark.parametrize("role", ["ae", "csm", "manager", "finance"])
def test_everyone_but_revops_gets_403(client, people, role):
    run = BacktestRun.objects.create(params={"start": "2026-01-01", "end": "2026-02-01", "step_days": 7})
    client.force_login(people[role])
    for method, url in _urls(run, SignalDefinition.objects.first()):
        assert getattr(client, method)(url, **HX).status_code == 403, url
    assert BacktestRun.objects.count() == 1


def test_anonymous_is_sent_to_login_and_superusers_may_enter(client, people):
    run = BacktestRun.objects.create(params={"start": "2026-01-01", "end": "2026-02-01", "step_days": 7})
    response = client.get(reverse("backtest-list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    client.force_login(people["admin"])
    assert client.get(reverse("backtest-list")).status_code == 200
    assert client.get(reverse("backtest", args=[run.pk])).status_code == 200


# --------------------------------------------------------------------------------------------------
# Admin: preview the impact of an unsaved signal edit
# --------------------------------------------------------------------------------------------------

ADMIN_FIELDS = (
    "key",
    "name",
    "order",
    "priority",
    "points",
    "metric",
    "compare",
    "denominator_metric",
    "denominator_field",
    "operator",
    "threshold",
    "window_days",
    "persistence_days",
    "segments",
    "tiers",
    "cooldown_days",
    "delay_hours",
    "deliver_hour",
    "expansion_type",
    "target",
    "default_uplift",
    "hypothesis",
    "opening_angle",
    "discovery_questions",
)


def admin_form(signal: SignalDefinition, **changes) -> dict:
    """The admin change form's POST as the browser sends it (a checked box is 'on', unchecked absent)."""
    data = {name: getattr(signal, name) for name in ADMIN_FIELDS}
    # the conditions inline's management form (this page's signals have none unless a test adds them)
    data["conditions-TOTAL_FORMS"] = "0"
    data["conditions-INITIAL_FORMS"] = "0"
    if signal.active:
        data["active"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None and v is not False}


def test_admin_change_page_offers_the_preview_button(client, people):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    client.force_login(people["admin"])
    page = client.get(reverse("admin:scoring_signaldefinition_change", args=[signal.pk])).content.decode()
    assert "Preview impact (last 12 months)" in page
    assert f'formaction="{reverse("backtest-signal-preview", args=[signal.pk])}"' in page
    add_page = client.get(reverse("admin:scoring_signaldefinition_add")).content.decode()
    assert f'formaction="{reverse("backtest-signal-preview-new")}"' in add_page


def test_preview_compares_the_saved_and_the_edited_signal_and_writes_nothing(client, people, history):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    before = list(SignalDefinition.objects.order_by("pk").values())
    history_rows = SignalDefinition.history.count()
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-signal-preview", args=[signal.pk]), admin_form(signal, threshold="0.99")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing has been saved" in page
    assert re.search(r"<td>threshold</td><td>0\.9</td><td><strong>0\.99</strong></td>", page)
    assert "Saved model" in page
    assert "With your edit" in page
    assert "EQLs per week" in page
    assert "Precision" in page
    assert "Recall" in page
    # The hot accounts run at 95% of their seats: at 0.99 the seat signal no longer fires.
    eqls = re.search(r'<th scope="row">EQLs</th><td class="num">(\d+)</td><td class="num">(\d+)', page)
    assert int(eqls[1]) > 0
    assert int(eqls[2]) == 0
    assert list(SignalDefinition.objects.order_by("pk").values()) == before
    assert SignalDefinition.history.count() == history_rows
    assert not BacktestRun.objects.exists()


def posted_condition(**fields) -> dict:
    """One condition as the admin page's inline posts it (the only row of the conditions formset)."""
    values = {
        "order": "1",
        "kind": "metric",
        "metric": "",
        "subject": "",
        "operator": "gte",
        "threshold": "0",
        "value": "",
        "window_days": "0",
        "persistence_days": "1",
        "compare": "value",
        "direction": "declining",
        **fields,
    }
    return {"conditions-TOTAL_FORMS": "1", **{f"conditions-0-{k}": v for k, v in values.items()}}


def test_preview_replays_the_conditions_posted_with_the_form_and_saves_none(client, people, history):
    # Given the seat signal, edited with a condition no demo account meets (tier Enterprise only)
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    client.force_login(people["revops"])
    data = {
        **admin_form(signal),
        **posted_condition(kind="field", subject="plan_tier", operator="in", value="Enterprise"),
    }
    # When the preview runs
    page = client.post(reverse("backtest-signal-preview", args=[signal.pk]), data).content.decode()
    # Then the edited model (with the condition) creates no seat EQL, and nothing was saved
    eqls = re.search(r'<th scope="row">EQLs</th><td class="num">(\d+)</td><td class="num">(\d+)', page)
    assert int(eqls[1]) > 0
    assert int(eqls[2]) == 0
    assert not signal.conditions.exists()


def test_preview_names_a_bad_posted_condition(client, people, history):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    client.force_login(people["revops"])
    data = {
        **admin_form(signal),
        **posted_condition(kind="event_count", subject="Invite Blocked", threshold="1", window_days="1"),
    }
    response = client.post(reverse("backtest-signal-preview", args=[signal.pk]), data)
    assert response.status_code == 422
    assert "Condition 1, subject: name the event" in response.content.decode()


def test_preview_of_switching_a_signal_off_and_of_a_new_signal(client, people, history):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    client.force_login(people["revops"])
    data = admin_form(signal)
    del data["active"]
    page = client.post(reverse("backtest-signal-preview", args=[signal.pk]), data).content.decode()
    assert "The signal is switched <strong>off</strong>" in page
    new = admin_form(signal, key="seats_tight", name="Seats tight", threshold="0.93")
    response = client.post(reverse("backtest-signal-preview-new"), new)
    assert response.status_code == 200
    assert "A new signal, added to the saved model" in response.content.decode()
    assert not SignalDefinition.objects.filter(key="seats_tight").exists()


def test_preview_of_an_invalid_edit_lists_the_errors(client, people, history):
    signal = SignalDefinition.objects.get(key="export_volume")
    client.force_login(people["revops"])
    response = client.post(
        reverse("backtest-signal-preview", args=[signal.pk]), admin_form(signal, points="10")
    )
    assert response.status_code == 422
    assert "Watch signals never count toward the score" in response.content.decode()
    assert SignalDefinition.objects.get(pk=signal.pk).points == 0


def test_preview_on_a_large_base_queues_two_runs_to_compare(
    client, people, history, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(services, "PREVIEW_SYNC_MAX_ACCOUNTS", 1)
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    client.force_login(people["revops"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("backtest-signal-preview", args=[signal.pk]), admin_form(signal, threshold="0.99")
        )
    saved, edited = BacktestRun.objects.order_by("pk")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('backtest-compare')}?ids={saved.pk},{edited.pk}"
    assert (saved.status, edited.status) == (BacktestRun.Status.DONE, BacktestRun.Status.DONE)
    assert saved.result["config"]["signals"]["seat_utilisation"]["threshold"] == 0.9
    assert edited.result["config"]["signals"]["seat_utilisation"]["threshold"] == 0.99
    assert SignalDefinition.objects.get(pk=signal.pk).threshold == 0.9


# --------------------------------------------------------------------------------------------------
# Query counts
# --------------------------------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_page_query_counts_do_not_grow_with_runs(client, people, history, django_assert_max_num_queries):
    client.force_login(people["revops"])
    runs = [done_run("one"), done_run("two")]
    few = {
        "list": _queries(client, reverse("backtest-list")),
        "compare": _queries(client, reverse("backtest-compare") + f"?ids={runs[0].pk},{runs[1].pk}"),
    }
    runs += [done_run(f"more {i}") for i in range(4)]
    many = {
        "list": _queries(client, reverse("backtest-list")),
        "compare": _queries(
            client, reverse("backtest-compare") + "?ids=" + ",".join(str(r.pk) for r in runs)
        ),
    }
    assert many == few
    # the list reads the configuration (signals with their conditions) once, whatever the runs
    with django_assert_max_num_queries(18):
        client.get(reverse("backtest-list"))
    with django_assert_max_num_queries(6):
        client.get(reverse("backtest", args=[runs[0].pk]))
    with django_assert_max_num_queries(5):
        client.get(reverse("backtest-progress", args=[runs[0].pk]), **HX)
    with django_assert_max_num_queries(6):
        client.get(reverse("backtest-compare") + f"?ids={runs[0].pk},{runs[1].pk}")


def test_preview_queries_do_not_grow_with_accounts(client, people, history):
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    client.force_login(people["revops"])
    url = reverse("backtest-signal-preview", args=[signal.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.post(url, admin_form(signal, threshold="0.95")).status_code == 200
        return len(captured)

    few = count()
    metrics = {m.name: m for m in MetricFactory._meta.model.objects.all()}
    rows = []
    for _ in range(5):
        account = AccountFactory(seats_licensed=100)
        for back in range(DAYS):
            for name, value in HOT.items():
                day = END - dt.timedelta(days=back)
                rows.append(UsageSnapshot(account=account, metric=metrics[name], date=day, value=value))
    UsageSnapshot.objects.bulk_create(rows)
    assert count() == few
    # 53 weekly steps, at most one query per day of the windows read plus two index-only counts each
    # (the default signals read at most 24 distinct days); steps before the history starts read nothing.
    assert few < 53 * 26
