"""The scoring watchdog alerts RevOps once per incident when passes stop or fail."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from routing.models import Notification
from scoring.models import PassStatus, ScoringPass
from scoring.services import pass_watchdog
from tests.factories import UserFactory

NOW = timezone.make_aware(dt.datetime(2026, 3, 31, 12, 0))


def _pass(*, status, finished_hours_ago, error=""):
    finished = NOW - dt.timedelta(hours=finished_hours_ago)
    return ScoringPass.objects.create(
        as_of=finished,
        started_at=finished - dt.timedelta(minutes=1),
        finished_at=finished,
        status=status,
        error=error,
    )


@pytest.fixture
def revops(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return UserFactory(role="RevOps")


@pytest.mark.django_db
def test_a_recent_completed_pass_is_ok_and_alerts_nobody(revops):
    _pass(status=PassStatus.COMPLETED, finished_hours_ago=1)

    assert pass_watchdog(now=NOW) == "ok"
    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_no_pass_for_two_hours_alerts_revops_in_app_and_by_email_once(
    revops, django_capture_on_commit_callbacks
):
    _pass(status=PassStatus.COMPLETED, finished_hours_ago=3)

    with django_capture_on_commit_callbacks(execute=True):
        first = pass_watchdog(now=NOW)
        second = pass_watchdog(now=NOW + dt.timedelta(minutes=15))

    assert first.startswith("No scoring pass has completed since")
    assert second == first
    alerts = Notification.objects.filter(kind=Notification.Kind.PASS_ALERT)
    assert [n.recipient_id for n in alerts] == [revops.pk]
    assert [m.to for m in mail.outbox] == [[revops.email]]


@pytest.mark.django_db
def test_a_failed_pass_alerts_with_its_error(revops):
    _pass(status=PassStatus.COMPLETED, finished_hours_ago=1)
    failed = _pass(status=PassStatus.FAILED, finished_hours_ago=0, error="OperationalError: server closed")

    problem = pass_watchdog(now=NOW)

    assert problem == f"Scoring pass {failed.pk} failed: OperationalError: server closed"
    assert Notification.objects.get(kind=Notification.Kind.PASS_ALERT).recipient == revops


@pytest.mark.django_db
def test_the_watchdog_task_fails_a_stalled_pass_and_reruns_it(revops, settings, monkeypatch):
    from scoring import tasks

    settings.SCORING_PASS_STALE_SECONDS = 60
    stalled_at = timezone.now() - dt.timedelta(seconds=61)
    stalled = ScoringPass.objects.create(
        as_of=stalled_at, started_at=stalled_at, heartbeat_at=stalled_at, trigger="celery"
    )
    reruns = []
    monkeypatch.setattr(tasks.run_scoring_pass, "delay", lambda *a, **k: reruns.append(a))

    problem = tasks.pass_watchdog()

    stalled.refresh_from_db()
    assert stalled.status == PassStatus.FAILED
    assert problem.startswith(f"Scoring pass {stalled.pk} failed: abandoned: no chunk progress for 1 min")
    assert reruns == [()]


@pytest.mark.django_db
def test_the_watchdog_task_leaves_a_pass_that_makes_progress_alone(revops, settings, monkeypatch):
    from scoring import tasks

    settings.SCORING_PASS_STALE_SECONDS = 60
    _pass(status=PassStatus.COMPLETED, finished_hours_ago=1)
    now = timezone.now()
    busy = ScoringPass.objects.create(as_of=now, started_at=now, heartbeat_at=now, trigger="celery")
    reruns = []
    monkeypatch.setattr(tasks.run_scoring_pass, "delay", lambda *a, **k: reruns.append(a))

    tasks.pass_watchdog()

    busy.refresh_from_db()
    assert busy.status == PassStatus.RUNNING
    assert reruns == []


def _celery_pass(status, minutes_ago):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return ScoringPass.objects.create(
        as_of=at, started_at=at, finished_at=at, status=status, trigger="celery", error="a chunk failed"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("history", "reruns_expected"),
    [
        (["failed"], 1),  # the scheduled pass failed: rerun
        (["completed", "failed", "failed"], 1),  # its rerun failed too: one more
        (["failed", "failed", "failed"], 0),  # failed three times in a row: wait for the hourly pass
        (["failed", "failed", "failed", "completed"], 0),
        (["failed", "completed"], 0),
    ],
)
def test_the_watchdog_running_every_minute_reruns_a_failing_pass_twice_at_most(
    revops, monkeypatch, history, reruns_expected
):
    from scoring import tasks

    for minutes_ago, status in zip(range(len(history), 0, -1), history, strict=True):
        _celery_pass(status, minutes_ago)
    reruns = []
    monkeypatch.setattr(tasks.run_scoring_pass, "delay", lambda *a, **k: reruns.append(a))

    tasks.pass_watchdog()

    assert len(reruns) == reruns_expected


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_running_chunk_keeps_its_pass_heartbeat_fresh_and_stops_beating_when_done():
    import threading

    from scoring.services import scoring_pass_heartbeats
    from tests.faults.harness import wait_until

    long_ago = timezone.now() - dt.timedelta(hours=1)
    running = ScoringPass.objects.create(
        as_of=long_ago, started_at=long_ago, heartbeat_at=long_ago, trigger="celery"
    )

    def beaten_since(moment):
        running.refresh_from_db()
        return running.heartbeat_at > moment

    with scoring_pass_heartbeats(pass_id=running.pk, every=0.05):
        # a chunk that runs long: the pass shows life without the chunk doing anything
        wait_until(lambda: beaten_since(long_ago), timeout=30, what="a heartbeat during the chunk")
        names = {t.name for t in threading.enumerate()}
        assert f"pass-{running.pk}-heartbeat" in names

    assert f"pass-{running.pk}-heartbeat" not in {t.name for t in threading.enumerate()}


@pytest.mark.django_db
def test_the_default_heartbeat_beats_six_times_per_stale_limit(settings):
    from scoring.services import heartbeat_interval

    settings.SCORING_PASS_STALE_SECONDS = 120

    assert heartbeat_interval() == 20


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_pass_in_one_process_beats_while_a_long_chunk_runs(settings, monkeypatch):
    from scoring import services
    from tests.faults.harness import wait_until
    from tests.scoring.scenario import AS_OF, base_accounts

    settings.SCORING_PASS_STALE_SECONDS = 0.3  # a beat every 0.05 s
    base_accounts(hot=2)
    original = services.scoring_chunk_run
    beaten = []

    def long_chunk(**kwargs):
        # the chunk does not return before its pass's heartbeat moved on without it
        row = ScoringPass.objects.filter(pk=kwargs["pass_id"])
        before = row.get().heartbeat_at
        beaten.append(wait_until(lambda: row.get().heartbeat_at > before, timeout=30, what="a heartbeat"))
        return original(**kwargs)

    monkeypatch.setattr(services, "scoring_chunk_run", long_chunk)

    finished = services.scoring_pass_run(as_of=AS_OF)

    assert beaten == [True]
    assert (finished.status, finished.eqls_created) == (PassStatus.COMPLETED, 2)
