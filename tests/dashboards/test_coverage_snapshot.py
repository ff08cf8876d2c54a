"""Stored coverage snapshots: computed after a scoring pass or on demand, served by the page and CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards import services, snapshots
from dashboards.metrics import DEFAULT_DIMENSIONS, DEFAULT_MIN_TOP, params_key, untouched_records
from dashboards.models import CoverageSnapshot
from dashboards.selectors import coverage_for, coverage_trend_for
from scoring.services import scoring_pass_run
from tests.dashboards.test_coverage_command import random_base, save
from tests.dashboards.test_report_views import build_book, people  # noqa: F401  (fixture)
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COVERAGE = reverse("reports-coverage")
UNTOUCHED_CSV = reverse("reports-coverage-untouched-csv")
DEFAULT_KEY = params_key(DEFAULT_DIMENSIONS, DEFAULT_MIN_TOP)
#: session + user, notification badge (2), the snapshot, the listed accounts' admin links.
PAGE_QUERIES = 6
#: session + user, the snapshot with its untouched list, the owners.
CSV_QUERIES = 4


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def book(people):  # noqa: F811
    build_book(12, people)
    return people


def test_the_stored_numbers_equal_the_fresh_computation():
    # Given a base rich enough for covered, untouched, conversions and estimates
    as_of = dt.date(2026, 3, 31)
    save(random_base(seed=12, n=60))
    # When a snapshot is computed and stored
    snapshot = snapshots.coverage_snapshot_store(as_of=as_of)
    # Then its JSON is the fresh diagnostic's, to the last digit, and the trend the fresh trend
    fresh = coverage_for(as_of)
    stored = {
        **snapshot.payload["result"],
        "untouched_account_ids": sorted(r[0] for r in snapshot.untouched["rows"]),
    }
    assert stored == fresh.to_json()
    assert snapshot.untouched == untouched_records(fresh)
    assert snapshot.payload["trend"] == coverage_trend_for(start=dt.date(2026, 2, 19), end=as_of)
    assert snapshot.payload["trend"][-1]["coverage_rate"] == fresh.coverage_rate
    assert snapshot.status == CoverageSnapshot.Status.DONE
    assert snapshot.progress == 100
    assert snapshot.computed_at is not None
    assert snapshot.seconds > 0


def test_the_page_serves_the_stored_snapshot_in_a_fixed_number_of_queries(
    client, book, django_assert_max_num_queries, monkeypatch
):
    snapshot = snapshots.coverage_snapshot_store(as_of=timezone.localdate())
    client.force_login(book["finance"])

    def never(*args, **kwargs):
        raise AssertionError("the page must not compute the diagnostic")

    monkeypatch.setattr("dashboards.report_views.coverage_for", never)
    monkeypatch.setattr("dashboards.snapshots.coverage_for", never)
    with django_assert_max_num_queries(PAGE_QUERIES):
        response = client.get(COVERAGE)

    assert response.status_code == 200
    assert response.context["result"]["eligible"] == snapshot.payload["result"]["eligible"] == 12
    assert response.context["trend"] == [
        {**p, "rate": f"{p['coverage_rate'] * 100:.1f}%"} for p in snapshot.payload["trend"]
    ]
    html = response.content.decode()
    assert 'data-testid="computed-at"' in html
    assert f"{snapshot.computed_at.astimezone(timezone.get_current_timezone()):%H:%M}" in html
    assert 'data-figure="fig-trend"' in html


def test_the_page_defaults_to_the_latest_stored_date(client, book):
    today = timezone.localdate()
    snapshots.coverage_snapshot_store(as_of=today - dt.timedelta(days=30))
    snapshots.coverage_snapshot_store(as_of=today - dt.timedelta(days=2))
    client.force_login(book["manager"])

    response = client.get(COVERAGE)

    assert response.context["as_of"] == today - dt.timedelta(days=2)
    assert response.context["ready"] is True


def test_the_csv_is_served_from_the_snapshot(client, book, django_assert_max_num_queries, monkeypatch):
    today = timezone.localdate()
    snapshots.coverage_snapshot_store(as_of=today)
    client.force_login(book["revops"])
    monkeypatch.setattr("dashboards.report_views.coverage_for", lambda *a, **k: pytest.fail("computed"))

    with django_assert_max_num_queries(CSV_QUERIES):
        response = client.get(UNTOUCHED_CSV)
        rows = csv_rows(response)

    assert response["Content-Disposition"].endswith(f'untouched-{today:%Y-%m-%d}.csv"')
    assert len(rows) > 1
    # the same file as the one computed afresh when no snapshot is stored
    monkeypatch.undo()
    CoverageSnapshot.objects.all().delete()
    assert rows == csv_rows(client.get(UNTOUCHED_CSV, {"as_of": today.isoformat()}))


def test_a_completed_scoring_pass_stores_a_new_snapshot(book, django_capture_on_commit_callbacks):
    # Given an older snapshot of today
    today = timezone.localdate()
    old = snapshots.coverage_snapshot_store(as_of=today)
    # When a scoring pass completes and commits
    with django_capture_on_commit_callbacks(execute=True):
        scoring_pass = scoring_pass_run()
    # Then the default snapshot at the pass's date is recomputed and names the pass
    snapshot = CoverageSnapshot.objects.get(params_key=DEFAULT_KEY, as_of=today)
    assert snapshot.pk == old.pk
    assert snapshot.scoring_pass_id == scoring_pass.pk
    assert snapshot.computed_at > old.computed_at
    assert snapshot.payload["result"] == {
        k: v for k, v in coverage_for(today).to_json().items() if k != "untouched_account_ids"
    }


def test_a_past_pass_stores_the_snapshot_of_its_date(db, django_capture_on_commit_callbacks):
    as_of = dt.date(2026, 3, 31)
    save(random_base(seed=5, n=30))

    with django_capture_on_commit_callbacks(execute=True):
        scoring_pass = scoring_pass_run(as_of=as_of)

    snapshot = CoverageSnapshot.objects.get(scoring_pass=scoring_pass)
    assert snapshot.as_of == as_of
    assert snapshot.payload["result"]["eligible"] == coverage_for(as_of).eligible


def test_a_failed_pass_stores_nothing(book, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("scoring.services.scoring_chunk_run", lambda **kw: 1 / 0)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ZeroDivisionError):
        scoring_pass_run()

    assert callbacks == []
    assert not CoverageSnapshot.objects.exists()


@pytest.mark.parametrize("role", ["revops", "manager"])
def test_a_date_not_stored_is_queued_and_shows_its_progress(
    client, book, role, django_capture_on_commit_callbacks
):
    day = timezone.localdate() - dt.timedelta(days=3)
    client.force_login(book[role])
    # When RevOps or a manager opens a date not computed yet
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get(COVERAGE, {"as_of": day.isoformat()})
    # Then it is queued once and the page shows its progress, polling
    html = response.content.decode()
    assert 'data-testid="coverage-progress"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'data-testid="coverage-tiles"' not in html
    snapshot = CoverageSnapshot.objects.get(as_of=day, params_key=DEFAULT_KEY)
    assert (snapshot.status, snapshot.requested_by) == (CoverageSnapshot.Status.QUEUED, book[role])
    assert len(callbacks) == 1
    # and a second visit while it is queued does not queue it again
    with django_capture_on_commit_callbacks(execute=False) as again:
        client.get(COVERAGE, {"as_of": day.isoformat()})
    assert again == []
    # The poll answers the progress fragment while queued ...
    poll = client.get(COVERAGE, {"as_of": day.isoformat(), "partial": "progress"}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200
    assert "0% done" in poll.content.decode()
    assert "<html" not in poll.content.decode()
    # ... and once the worker has run it, asks htmx to reload the page, which shows the numbers
    callbacks[0]()
    snapshot.refresh_from_db()
    assert snapshot.status == CoverageSnapshot.Status.DONE
    poll = client.get(COVERAGE, {"as_of": day.isoformat(), "partial": "progress"}, HTTP_HX_REQUEST="true")
    assert (poll.status_code, poll["HX-Refresh"]) == (204, "true")
    page = client.get(COVERAGE, {"as_of": day.isoformat()})
    assert page.context["ready"] is True
    assert page.context["result"] == {
        k: v for k, v in coverage_for(day).to_json().items() if k != "untouched_account_ids"
    }


def test_finance_is_told_a_date_is_not_computed_and_queues_nothing(
    client, book, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    snapshots.coverage_snapshot_store(as_of=today)
    client.force_login(book["finance"])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get(COVERAGE, {"as_of": (today - dt.timedelta(days=9)).isoformat()})

    assert response.status_code == 200
    html = response.content.decode()
    assert "has not been computed yet" in html
    assert 'data-testid="coverage-latest"' in html
    assert callbacks == []
    assert CoverageSnapshot.objects.count() == 1


def test_on_demand_computations_are_limited(client, book, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    client.force_login(book["revops"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for days in range(1, services.MAX_PENDING_ON_DEMAND + 2):
            response = client.get(COVERAGE, {"as_of": (today - dt.timedelta(days=days)).isoformat()})

    assert len(callbacks) == services.MAX_PENDING_ON_DEMAND
    assert "coverage computations are already running" in response.content.decode()
    assert CoverageSnapshot.objects.count() == services.MAX_PENDING_ON_DEMAND


def test_a_failed_computation_is_shown_and_queued_again(client, book, monkeypatch):
    day = timezone.localdate() - dt.timedelta(days=4)
    snapshot, problem = services.coverage_snapshot_request(as_of=day, requested_by=book["revops"])
    assert problem == ""
    monkeypatch.setattr("dashboards.snapshots.coverage_for", lambda *a, **k: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        snapshots.coverage_snapshot_compute(snapshot_id=snapshot.pk)

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.error) == (
        CoverageSnapshot.Status.FAILED,
        "ZeroDivisionError: division by zero",
    )
    assert snapshot.computed_at is None
    client.force_login(book["revops"])
    poll = client.get(COVERAGE, {"as_of": day.isoformat(), "partial": "progress"}, HTTP_HX_REQUEST="true")
    assert poll.status_code == 204  # the poll stops; the reloaded page queues it again
    again, problem = services.coverage_snapshot_request(as_of=day, requested_by=book["revops"])
    assert (again.pk, again.status, problem) == (snapshot.pk, CoverageSnapshot.Status.QUEUED, "")


def test_a_stale_queued_computation_is_queued_again(book, django_capture_on_commit_callbacks):
    day = timezone.localdate() - dt.timedelta(days=5)
    snapshot, _ = services.coverage_snapshot_request(as_of=day, requested_by=book["manager"])
    CoverageSnapshot.objects.filter(pk=snapshot.pk).update(
        requested_at=timezone.now() - services.STALE_AFTER - dt.timedelta(seconds=1)
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.coverage_snapshot_request(as_of=day, requested_by=book["manager"])

    assert len(callbacks) == 1
    snapshot.refresh_from_db()
    assert snapshot.status == CoverageSnapshot.Status.DONE


def test_a_recomputation_keeps_serving_the_stored_numbers(client, book):
    today = timezone.localdate()
    snapshot = snapshots.coverage_snapshot_store(as_of=today)
    CoverageSnapshot.objects.filter(pk=snapshot.pk).update(
        status=CoverageSnapshot.Status.RUNNING, progress=40
    )
    client.force_login(book["revops"])

    response = client.get(COVERAGE)

    assert response.context["ready"] is True
    html = response.content.decode()
    assert "Being recomputed now (40%)" in html
    assert 'data-testid="coverage-tiles"' in html


@pytest.mark.parametrize("role", ["ae", "csm"])
def test_aes_and_csms_still_cannot_read_or_queue(client, book, role, django_capture_on_commit_callbacks):
    client.force_login(book[role])

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get(COVERAGE, {"as_of": "2026-01-31"})

    assert response.status_code == 403
    assert callbacks == []


def test_a_superuser_without_a_role_may_queue(client, book, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(is_superuser=True, is_staff=True, role=""))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.get(COVERAGE)

    assert len(callbacks) == 1
