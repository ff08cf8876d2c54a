"""The scoring pass under concurrency and failure: two OS processes racing, the Celery fan-out on a real
worker, and a chunk that crashes half-way through its writes.

These tests commit for real (``transaction=True``) so other processes see the data;
``serialized_rollback`` puts the seeded default configuration back for whatever runs next.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from expansion.models import EQL
from scoring import services
from scoring.models import PassStatus, ScoringPass
from scoring.services import scoring_pass_run
from tests.faults.harness import running_database_url as _database_url
from tests.faults.harness import wait_until
from tests.scoring.scenario import AS_OF, AS_OF_TEXT
from tests.scoring.scenario import aware as _aware
from tests.scoring.scenario import base_accounts as _base
from tests.scoring.scenario import open_per_account as _open_per_account
from tests.scoring.scenario import outcome as _outcome

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_processes_scoring_at_once_create_exactly_one_eql_per_account():
    # given 300 qualifying accounts, committed
    accounts = _base(hot=300)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": "memory://localhost/",
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "manage.py", "score", "--as-of", AS_OF_TEXT, "--chunk-size", "25", "--json"]

    # when two OS processes run the same pass at the same moment
    procs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            p.kill()  # a no-op once it has exited; never leave a pass running past a failed test

    # then both complete, each account has exactly one open EQL, and the creations add up
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err[-2000:]
    summaries = [json.loads(out) for out, _ in outputs]
    assert [s["status"] for s in summaries] == ["completed", "completed"]
    assert [s["accounts_scored"] for s in summaries] == [300, 300]
    assert sum(s["eqls_created"] for s in summaries) == 300
    assert sum(s["eqls_created"] + s["eqls_unchanged"] for s in summaries) >= 300
    per_account = _open_per_account()
    assert set(per_account) == {a.pk for a in accounts}
    assert set(per_account.values()) == {1}
    assert EQL.objects.count() == 300
    # the two passes really ran at the same time
    first, second = ScoringPass.objects.order_by("started_at")
    assert second.started_at < first.finished_at


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:] if log.exists() else "(no worker log)"


@pytest.mark.postgres
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_celery_fan_out_on_a_real_worker_matches_a_single_process_pass(celery_worker_process, tmp_path):
    from scoring.tasks import run_scoring_pass

    # given 160 qualifying, 20 watch-only and 40 quiet accounts (5 chunks of 50)
    _base(hot=160, watch=20, quiet=40)
    # and what a single-process pass makes of them (rolled back: nothing committed, nothing announced)
    with transaction.atomic():
        reference = scoring_pass_run(as_of=AS_OF, chunk_size=50)
        expected = _outcome()
        expected_counts = (reference.accounts_scored, reference.eqls_created, reference.csm_reviews_created)
        transaction.set_rollback(True)
    assert expected_counts == (220, 160, 20)
    assert EQL.objects.count() == 0

    # when the Celery task fans the pass out to the worker
    run_scoring_pass.delay(as_of=AS_OF_TEXT, chunk_size=50)
    worker_log = tmp_path / "worker.log"  # written by the celery_worker_process fixture
    scoring_pass = wait_until(
        lambda: ScoringPass.objects.filter(trigger="celery").exclude(status=PassStatus.RUNNING).first(),
        timeout=180,
        what=lambda: f"the pass to end on the worker\n{_tail(worker_log)}",
        every=0.5,
    )

    # then the pass completes with the same EQLs and counts as the single-process pass
    log_lines = worker_log.read_text().splitlines() if worker_log.exists() else []
    errors = "\n".join(line for line in log_lines if "ERROR" in line or "Error" in line)
    assert scoring_pass.status == PassStatus.COMPLETED, f"{scoring_pass.error}\n{errors[-4000:]}"
    assert scoring_pass.chunks == math.ceil(220 / 50)
    assert (scoring_pass.accounts_scored, scoring_pass.eqls_created, scoring_pass.csm_reviews_created) == (
        expected_counts
    )
    assert _outcome() == expected
    assert set(_open_per_account().values()) == {1}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_chunk_crashing_mid_write_leaves_no_half_written_eql_and_the_next_pass_completes(monkeypatch):
    # given six qualifying accounts, scored in two chunks of three
    accounts = _base(hot=6)
    first_chunk, second_chunk = {a.pk for a in accounts[:3]}, {a.pk for a in accounts[3:]}
    seen_before_crash = []
    original = services._announce_on_commit

    def crash_in_second_chunk(counts, **kwargs):
        # runs inside the chunk's transaction, after its EQLs were inserted
        mine = set(EQL.objects.filter(account_id__in=second_chunk).values_list("account_id", flat=True))
        if mine:
            seen_before_crash.append(mine)
            raise RuntimeError("worker lost mid-chunk")
        return original(counts, **kwargs)

    monkeypatch.setattr(services, "_announce_on_commit", crash_in_second_chunk)

    # when the pass crashes in the second chunk after writing its EQLs
    with pytest.raises(RuntimeError, match="worker lost mid-chunk"):
        scoring_pass_run(as_of=_aware(AS_OF, 6), chunk_size=3)

    # then chunk 1 is committed, chunk 2 left nothing behind, and the pass is marked failed
    assert seen_before_crash == [second_chunk]
    assert set(_open_per_account()) == first_chunk
    failed = ScoringPass.objects.get()
    assert failed.status == PassStatus.FAILED
    assert failed.error == "RuntimeError: worker lost mid-chunk"
    assert failed.eqls_created == 3

    # when the next pass runs normally
    monkeypatch.undo()
    recovery = scoring_pass_run(as_of=_aware(AS_OF, 7), chunk_size=3)

    # then it completes the work: chunk 2's EQLs are created, chunk 1's left unchanged
    assert recovery.status == PassStatus.COMPLETED
    assert (recovery.eqls_created, recovery.eqls_updated, recovery.eqls_unchanged) == (3, 0, 3)
    per_account = _open_per_account()
    assert set(per_account) == first_chunk | second_chunk
    assert set(per_account.values()) == {1}
