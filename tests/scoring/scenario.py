"""A small account base whose outcome is known, shared by the concurrency and fault tests.

``hot`` accounts qualify (score 75; ARR alternates so half route to AEs, half to CSMs), ``watch``
accounts fire only the export watch signal, ``quiet`` ones fire nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

from django.utils import timezone

from expansion.models import EQL, OPEN_STATUSES, Account, Metric, UsageSnapshot, User

AS_OF = dt.date(2026, 3, 31)
AS_OF_TEXT = AS_OF.isoformat()
DAYS = 10


def aware(day: dt.date, hour: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def base_accounts(*, hot: int, watch: int = 0, quiet: int = 0, as_of: dt.date = AS_OF) -> list[Account]:
    """``hot`` accounts that qualify (seats 0.96 for 10 days + API 0.90: score 75; ARR alternating
    100,000 -> AE and 48,000 -> CSM), ``watch`` with only the export watch signal, ``quiet`` with none."""
    ae = User.objects.create(username="race.ae@example.com", email="race.ae@example.com", role="AE")
    csm = User.objects.create(username="race.csm@example.com", email="race.csm@example.com", role="CSM")
    kinds = ["hot"] * hot + ["watch"] * watch + ["quiet"] * quiet
    Account.objects.bulk_create(
        [
            Account(
                account_id=f"C-{i:04d}",
                name=f"Concurrent {i}",
                segment="MidMarket",
                plan_tier="Professional",
                contract_arr=Decimal("100000.00") if i % 2 == 0 else Decimal("48000.00"),
                customer_since=as_of - dt.timedelta(days=400),
                seats_licensed=50,
                api_limit_30d=100_000,
                health_score=80,
                status="active",
                ae=ae,
                csm=csm,
            )
            for i in range(len(kinds))
        ]
    )
    accounts = list(Account.objects.order_by("pk"))
    metric = {
        name: Metric.objects.get_or_create(name=name)[0]
        for name in ("seats_active", "api_calls_30d", "export_rows_30d")
    }
    rows = []
    for account, kind in zip(accounts, kinds, strict=True):
        seats, api = (48, 90_000) if kind == "hot" else (10, 1_000)
        for back in range(DAYS):
            date = as_of - dt.timedelta(days=back)
            rows.append(UsageSnapshot(account=account, metric=metric["seats_active"], date=date, value=seats))
            rows.append(UsageSnapshot(account=account, metric=metric["api_calls_30d"], date=date, value=api))
        if kind == "watch":
            for back in range(101):
                rows.append(
                    UsageSnapshot(
                        account=account,
                        metric=metric["export_rows_30d"],
                        date=as_of - dt.timedelta(days=back),
                        value=2_000 if back < 30 else 500,
                    )
                )
    UsageSnapshot.objects.bulk_create(rows, batch_size=5_000)
    return accounts


def outcome() -> set[tuple]:
    return set(
        EQL.objects.filter(status__in=OPEN_STATUSES).values_list(
            "account__account_id",
            "route",
            "score",
            "primary_signal",
            "estimated_expansion_arr",
            "owner_id",
            "csm_involvement_required",
        )
    )


def open_per_account() -> Counter:
    return Counter(EQL.objects.filter(status__in=OPEN_STATUSES).values_list("account_id", flat=True))
