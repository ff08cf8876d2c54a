"""A scheduled pass skips while another runs, but a pass abandoned by a dead worker never blocks."""

import datetime as dt

import pytest
from django.utils import timezone

from scoring.engine import default_config
from scoring.models import PassStatus, ScoringPass
from scoring.services import scoring_pass_claim

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
    _running(started_hours_ago=0.2)

    assert scoring_pass_claim(as_of=NOW, config=default_config(), chunks=2, now=NOW) is None
    assert ScoringPass.objects.count() == 1


@pytest.mark.django_db
def test_a_pass_abandoned_for_two_hours_is_failed_and_no_longer_blocks():
    dead = _running(started_hours_ago=3)

    claimed = scoring_pass_claim(as_of=NOW, config=default_config(), chunks=1, now=NOW)

    dead.refresh_from_db()
    assert dead.status == PassStatus.FAILED
    assert dead.error == "abandoned: still running after 2 hours"
    assert claimed is not None
    assert claimed.status == PassStatus.RUNNING
