"""A scheduled pass skips while another runs, but a pass abandoned by a dead worker never blocks."""

import datetime as dt

import pytest
from django.utils import timezone

from expansion.models import EQL
from scoring.defaults import default_config
from scoring.models import PassStatus, ScoringPass
from scoring.services import (
    ChunkCounts,
    passes_abandon_stale,
    scoring_pass_claim,
    scoring_pass_finish,
    scoring_pass_heartbeat,
    scoring_pass_run,
)
from tests.scoring.scenario import AS_OF, AS_OF_TEXT, aware, base_accounts

NOW = timezone.make_aware(dt.datetime(2026, 3, 31, 12, 0))


def _running(started_hours_ago: float) -> ScoringPass:
    started = NOW - dt.timedelta(hours=started_hours_ago)
    return ScoringPass.objects.create(as_of=started, started_at=started, trigger="celery")


@pytest.mark.django_db
def test_a_claim_with_nothing_running_starts_a_pass():
    claimed = scoring_pass_claim(as_of=NOW, config=default_config(), chunks=2, now=NOW)

    assert claimed.status == PassStatus.RUNNING
    assert (claimed.trigger, claimed.chunks) == ("celery", 2)


@pytest.mark.django_db
def test_a_second_scheduler_skips_while_a_pass_runs():
    busy = _running(started_hours_ago=0.2)
    busy.heartbeat_at = NOW - dt.timedelta(seconds=30)  # its chunks are still beating
    busy.save()

    assert scoring_pass_claim(as_of=NOW, config=default_config(), chunks=2, now=NOW) is None
    assert ScoringPass.objects.count() == 1


@pytest.mark.django_db
def test_a_pass_without_progress_for_the_stale_limit_is_failed_and_no_longer_blocks(settings):
    settings.SCORING_PASS_STALE_SECONDS = 900
    dead = _running(started_hours_ago=0.5)
    dead.heartbeat_at = NOW - dt.timedelta(seconds=901)
    dead.save()

    claimed = scoring_pass_claim(as_of=NOW, config=default_config(), chunks=1, now=NOW)

    dead.refresh_from_db()
    assert dead.status == PassStatus.FAILED
    assert dead.error == "abandoned: no chunk progress for 15 min (worker or broker lost); rerun"
    assert claimed is not None
    assert claimed.status == PassStatus.RUNNING


@pytest.mark.django_db
def test_a_long_pass_whose_chunks_still_report_progress_keeps_running(settings):
    settings.SCORING_PASS_STALE_SECONDS = 900
    busy = _running(started_hours_ago=3)
    busy.heartbeat_at = NOW - dt.timedelta(seconds=899)
    busy.save()

    assert scoring_pass_claim(as_of=NOW, config=default_config(), chunks=1, now=NOW) is None
    busy.refresh_from_db()
    assert busy.status == PassStatus.RUNNING


@pytest.mark.django_db
def test_a_chunk_of_an_abandoned_pass_is_skipped_and_finishing_it_keeps_it_failed():
    dead = _running(started_hours_ago=3)
    assert scoring_pass_heartbeat(pass_id=dead.pk)
    passes_abandon_stale(now=timezone.now() + dt.timedelta(days=1))

    assert not scoring_pass_heartbeat(pass_id=dead.pk)
    dead.refresh_from_db()
    assert scoring_pass_finish(scoring_pass=dead, counts=ChunkCounts()).status == PassStatus.FAILED
    dead.refresh_from_db()
    assert dead.status == PassStatus.FAILED


@pytest.mark.django_db
def test_a_pass_in_one_process_reports_progress_chunk_after_chunk(monkeypatch):
    from scoring import services

    base_accounts(hot=4)
    seen = []
    run_chunk = services.scoring_chunk_run

    def recording(**kwargs):
        seen.append(ScoringPass.objects.get(pk=kwargs["pass_id"]).heartbeat_at)
        return run_chunk(**kwargs)

    monkeypatch.setattr(services, "scoring_chunk_run", recording)

    scoring_pass = scoring_pass_run(as_of=AS_OF, chunk_size=2)

    assert scoring_pass.status == PassStatus.COMPLETED
    assert len(seen) == 2
    assert seen[1] > seen[0]


@pytest.mark.django_db
def test_a_pass_abandoned_while_running_in_process_stays_failed():
    base_accounts(hot=2)
    running = _running(started_hours_ago=1)
    passes_abandon_stale(now=timezone.now() + dt.timedelta(days=1))

    finished = scoring_pass_finish(scoring_pass=running, counts=ChunkCounts(accounts_scored=2))

    assert finished.status == PassStatus.FAILED
    assert finished.error.startswith("abandoned")
    assert finished.accounts_scored == 0


@pytest.mark.django_db
def test_a_queued_chunk_of_an_abandoned_pass_writes_nothing():
    from scoring.tasks import _config_to_wire, finish_pass, score_chunk

    accounts = base_accounts(hot=2)
    dead = _running(started_hours_ago=3)
    passes_abandon_stale(now=timezone.now() + dt.timedelta(days=1))

    result = score_chunk(
        dead.pk, [accounts[0].pk, accounts[-1].pk], AS_OF_TEXT, _config_to_wire(default_config()), {}
    )
    finish_pass([result], dead.pk)

    assert result == {}
    assert not EQL.objects.exists()
    dead.refresh_from_db()
    assert dead.status == PassStatus.FAILED


@pytest.mark.django_db
def test_a_chunk_delivered_twice_writes_its_eqls_once():
    # a worker lost after the chunk committed but before it acknowledged the message: redelivered
    from scoring.tasks import _config_to_wire, score_chunk

    accounts = base_accounts(hot=4)
    running = _running(started_hours_ago=0)
    as_of = aware(AS_OF).isoformat()
    args = (running.pk, [accounts[0].pk, accounts[-1].pk], as_of, _config_to_wire(default_config()), {})

    first = score_chunk(*args)
    again = score_chunk(*args)

    assert (first["eqls_created"], first["eqls_unchanged"]) == (4, 0)
    assert (again["eqls_created"], again["eqls_unchanged"]) == (0, 4)
    assert EQL.objects.count() == 4
    assert sorted(EQL.objects.values_list("account_id", flat=True)) == sorted(a.pk for a in accounts)
