"""Properties of the scoring pass over random small bases and random sequences of passes and closes.

Each hypothesis example builds its own base inside a transaction that is rolled back at the end, so
examples never see each other's rows (the seeded default configuration stays in place).

Properties, checked after every pass:
- at most one open EQL per account;
- every EQL's score is within 0..100;
- an account that fails a block gate at the pass's as_of gets no EQL from that pass (none created,
  none refreshed), and an account blocked for good (churned, or health under 60) never has one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from expansion.models import EQL, OPEN_STATUSES, Account, EQLStatus, Metric, UsageSnapshot, User
from scoring.models import PassStatus
from scoring.services import scoring_pass_run

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 31)
DAYS = 10
SEATS_LICENSED = 50
API_LIMIT = 100_000


def daily(levels: list[float], low: float) -> st.SearchStrategy[list[float]]:
    """Ten daily values: one level for the account, with up to three days dropped to ``low``."""
    return st.builds(
        lambda level, dips: [low if day in dips else level for day in range(DAYS)],
        st.sampled_from(levels),
        st.sets(st.integers(min_value=0, max_value=DAYS - 1), max_size=3),
    )


account_strategy = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["active", "active", "active", "churned"]),
        # days of tenure at AS_OF: 119 becomes 120 (allowed) a day later
        "tenure": st.sampled_from([60, 119, 120, 400]),
        "health": st.sampled_from([None, 50, 59, 60, 85]),
        "contract_arr": st.sampled_from(["12000", "48000", "100000"]),
        # per day, oldest first; thresholds: seats 45/50, API 85,000/100,000, automation 20
        "seats": daily([10, 44, 45, 48, 50], low=30),
        "api": daily([1_000, 84_999, 85_000, 95_000], low=50_000),
        "automation": daily([2, 19, 20, 30], low=5),
        "export_surge": st.booleans(),
    }
)
base_strategy = st.lists(account_strategy, min_size=3, max_size=8)
# Pass dates relative to AS_OF (the last day with usage): strictly increasing, some with stale data.
pass_days_strategy = st.lists(
    st.integers(min_value=-3, max_value=5), min_size=1, max_size=4, unique=True
).map(sorted)


def _aware(day: dt.date, hour: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _build(base: list[dict]) -> list[Account]:
    ae = User.objects.create(username="prop.ae@example.com", email="prop.ae@example.com", role="AE")
    csm = User.objects.create(username="prop.csm@example.com", email="prop.csm@example.com", role="CSM")
    metrics = {
        name: Metric.objects.get_or_create(name=name)[0]
        for name in ("seats_active", "api_calls_30d", "automation_workflows", "export_rows_30d")
    }
    accounts, rows = [], []
    for i, spec in enumerate(base):
        account = Account.objects.create(
            account_id=f"P-{i}",
            name=f"Prop {i}",
            segment="MidMarket",
            plan_tier="Professional",
            contract_arr=Decimal(spec["contract_arr"]),
            customer_since=AS_OF - dt.timedelta(days=spec["tenure"]),
            seats_licensed=SEATS_LICENSED,
            api_limit_30d=API_LIMIT,
            health_score=spec["health"],
            status=spec["status"],
            ae=ae,
            csm=csm,
        )
        accounts.append(account)
        for day in range(DAYS):
            date = AS_OF - dt.timedelta(days=DAYS - 1 - day)
            for name in ("seats", "api", "automation"):
                metric = metrics[
                    {"seats": "seats_active", "api": "api_calls_30d"}.get(name, "automation_workflows")
                ]
                rows.append(UsageSnapshot(account=account, metric=metric, date=date, value=spec[name][day]))
        if spec["export_surge"]:
            # export_rows_30d at 4x its level of 90 days earlier: the watch signal fires
            for back in range(0, 101):
                value = 2_000 if back < 30 else 500
                rows.append(
                    UsageSnapshot(
                        account=account,
                        metric=metrics["export_rows_30d"],
                        date=AS_OF - dt.timedelta(days=back),
                        value=value,
                    )
                )
    UsageSnapshot.objects.bulk_create(rows)
    return accounts


def _blocked(spec: dict, as_of: dt.date) -> bool:
    """The default block gates: status active, tenure >= 120 days, health >= 60 when present."""
    tenure = spec["tenure"] + (as_of - AS_OF).days
    health_low = spec["health"] is not None and spec["health"] < 60
    return spec["status"] != "active" or tenure < 120 or health_low


def _check_invariants(base: list[dict], accounts: list[Account], scoring_pass, as_of: dt.date) -> None:
    assert scoring_pass.status == PassStatus.COMPLETED
    assert scoring_pass.accounts_scored == len(accounts)

    open_per_account = Counter(
        EQL.objects.filter(status__in=OPEN_STATUSES).values_list("account_id", flat=True)
    )
    assert all(n == 1 for n in open_per_account.values()), open_per_account

    scores = list(EQL.objects.values_list("score", flat=True))
    assert all(0 <= s <= 100 for s in scores), scores

    touched = set(EQL.objects.filter(last_pass=scoring_pass.pk).values_list("account_id", flat=True))
    created = EQL.objects.filter(last_pass=scoring_pass.pk, created_at=scoring_pass.as_of).count()
    assert created == scoring_pass.eqls_created + scoring_pass.csm_reviews_created
    for spec, account in zip(base, accounts, strict=True):
        if _blocked(spec, as_of):
            assert account.pk not in touched, f"{account.account_id} is blocked at {as_of} but got an EQL"
        permanently_blocked = spec["status"] != "active" or (
            spec["health"] is not None and spec["health"] < 60
        )
        if permanently_blocked:
            assert not EQL.objects.filter(account=account).exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=base_strategy, pass_days=pass_days_strategy, data=st.data())
def test_pass_sequences_keep_one_open_eql_bounded_scores_and_respect_block_gates(base, pass_days, data):
    with transaction.atomic():
        # given a random small base
        accounts = _build(base)

        for n, offset in enumerate(pass_days):
            # when a pass runs (an hourly clock: 06:00 on that day)
            as_of = AS_OF + dt.timedelta(days=offset)
            scoring_pass = scoring_pass_run(
                as_of=_aware(as_of, 6), chunk_size=data.draw(st.sampled_from([2, 3, 100]))
            )

            # then the invariants hold
            _check_invariants(base, accounts, scoring_pass, as_of)
            event(f"pass created EQLs: {scoring_pass.eqls_created > 0}")
            event(f"pass created CSM review items: {scoring_pass.csm_reviews_created > 0}")
            event(f"pass updated EQLs: {scoring_pass.eqls_updated > 0}")

            # and, before the next pass, some open EQLs close with a random outcome an hour later
            open_ids = list(EQL.objects.filter(status__in=OPEN_STATUSES).values_list("pk", flat=True))
            if n + 1 < len(pass_days) and open_ids:
                closing = data.draw(st.lists(st.sampled_from(open_ids), unique=True, max_size=len(open_ids)))
                outcome = data.draw(st.sampled_from([EQLStatus.WON, EQLStatus.LOST, EQLStatus.DECLINED]))
                EQL.objects.filter(pk__in=closing).update(status=outcome, closed_at=_aware(as_of, 7))
                event(f"closed EQLs between passes: {bool(closing)}")

        transaction.set_rollback(True)
