"""The weekly digest: new, open, closed, SLA misses and the top 5 by score, per person."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from expansion.models import EQLStatus
from routing.digest import DigestRow, compose_digest, summarise
from routing.models import Notification
from routing.services import weekly_digests_send
from tests.factories import EQLFactory, UserFactory

WEEK_START = timezone.make_aware(dt.datetime(2026, 3, 23))
WEEK_END = WEEK_START + dt.timedelta(days=7)


def row(name, *, status="new", score=60, created_days=10, closed_days=None, won=None, breached=False):
    return DigestRow(
        account_name=name,
        status=status,
        score=score,
        primary_signal="seat_utilisation",
        estimate=Decimal("1000"),
        contract_arr=Decimal("50000"),
        created_at=WEEK_END - dt.timedelta(days=created_days),
        closed_at=None if closed_days is None else WEEK_END - dt.timedelta(days=closed_days),
        won_arr=won,
        sla_breached=breached,
        csm_name="",
    )


def test_summary_counts_each_bucket_by_its_own_rule():
    rows = [
        row("A", score=90, created_days=2),  # new this week, open
        row("B", score=80, breached=True),  # open, older, SLA missed
        row("C", status="won", closed_days=1, won=Decimal("7000")),  # closed this week
        row("D", status="declined", closed_days=20),  # closed before the week: ignored
        *[row(f"E{i}", score=50 + i) for i in range(5)],
    ]

    digest = summarise(rows, WEEK_START, WEEK_END)

    assert (digest.new, digest.open, digest.closed, digest.sla_misses) == (1, 7, 1, 1)
    assert digest.won_value == Decimal("7000")
    assert digest.open_value == Decimal("7000")
    assert [r.account_name for r in digest.top] == ["A", "B", "E4", "E3", "E2"]


def test_composed_text_lists_the_top_five_in_order():
    digest = summarise([row("Acme", score=99), row("Bolt", score=70)], WEEK_START, WEEK_END)

    subject, body = compose_digest(name="Ari", week_start=WEEK_START.date(), digest=digest, link="http://x/")

    assert subject == "Weekly expansion pipeline, week of 23 Mar 2026: 2 open, 0 new"
    assert body.index("1. Acme") < body.index("2. Bolt")


@pytest.mark.django_db
def test_every_active_ae_and_csm_gets_one_digest_about_their_own_eqls(django_capture_on_commit_callbacks):
    ae, other, csm = UserFactory(role="AE"), UserFactory(role="AE"), UserFactory(role="CSM")
    UserFactory(role="AE", is_active=False)
    EQLFactory(owner=ae, score=88)
    EQLFactory(owner=other, status=EQLStatus.CONTACTED)

    with django_capture_on_commit_callbacks(execute=True):
        sent = weekly_digests_send(now=timezone.now())

    digests = Notification.objects.filter(kind=Notification.Kind.DIGEST)
    assert sent == 3
    assert sorted(digests.values_list("recipient_id", flat=True)) == sorted([ae.pk, other.pk, csm.pk])
    assert "score 88" in digests.get(recipient=ae).body
    assert "none open right now" in digests.get(recipient=csm).body


def test_digest_amounts_carry_the_currency_and_dates_the_one_format():
    digest = summarise(
        [row("Acme", score=99), row("Bolt", status="won", closed_days=1, won=Decimal("7000"))],
        WEEK_START,
        WEEK_END,
    )

    _subject, body = compose_digest(
        name="Ari", week_start=WEEK_START.date(), digest=digest, link="http://x/", currency="EUR"
    )

    lines = body.splitlines()
    assert lines[2] == "WEEKLY EXPANSION PIPELINE - week of 23 Mar 2026"
    assert lines[4] == "- Open: 1 | estimated €1,000"
    assert lines[5] == "- Closed this week: 1 | won €7,000"
    assert lines[9] == "  1. Acme | score 99 | Seat utilisation | estimate €1,000 of €50,000 ARR | new"
