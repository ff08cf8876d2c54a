"""ORM reads for the reports: build the frames ``dashboards.metrics`` computes from.

Every frame is keyed by the external ``account_id`` (the string from the warehouse export); ORM
foreign keys (integer pks) are mapped to it in pandas, never joined per row in SQL.

Dates: the importer stores a date-only ``occurred_at`` as midnight UTC, so an activity's day is the
UTC date of ``occurred_at`` and the activity windows below are UTC-midnight bounds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import pandas as pd
from django.db.models import Max, Min, OuterRef, Subquery
from django.db.models.functions import TruncDate

from dashboards.metrics import (
    COMMERCIAL_TYPES,
    COVERED_WINDOW_DAYS,
    DEFAULT_DIMENSIONS,
    DEFAULT_MIN_TOP,
    DEFAULT_QUANTILE,
    ELIGIBLE_MIN_TENURE_DAYS,
    HISTORY_WINDOW_DAYS,
    CoverageResult,
    Dimension,
    coverage_diagnostic,
    coverage_trend,
    month_ends,
    needed_metrics,
)
from dashboards.models import CoverageSnapshot
from expansion.models import (
    Account,
    AccountStatus,
    Activity,
    Expansion,
    ExpansionStatus,
    Metric,
    UsageSnapshot,
)

ACCOUNT_COLUMNS = (
    "pk",
    "account_id",
    "name",
    "segment",
    "status",
    "customer_since",
    "seats_licensed",
    "api_limit_30d",
    "contract_arr",
)
ACTIVITY_COLUMNS = ["account_id", "occurred_at", "type", "commercial"]
EXPANSION_COLUMNS = ["account_id", "status", "closed_date", "expansion_arr"]
METRIC_COLUMNS = ["account_id", "metric", "value"]


def _utc_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def accounts_frame() -> pd.DataFrame:
    """Every account with the columns the reports read (``ACCOUNT_COLUMNS``; 1 query)."""
    rows = list(Account.objects.order_by().values_list(*ACCOUNT_COLUMNS))
    frame = pd.DataFrame(rows, columns=list(ACCOUNT_COLUMNS))
    frame["contract_arr"] = frame["contract_arr"].map(float).astype(float)
    return frame


def _pk_to_account_id(accounts: pd.DataFrame) -> pd.Series:
    return pd.Series(accounts["account_id"].to_numpy(), index=accounts["pk"].to_numpy())


def latest_metrics_frame(
    as_of: dt.date,
    metric_names: Sequence[str],
    accounts: pd.DataFrame,
    *,
    eligible_only: bool = True,
) -> pd.DataFrame:
    """Long ``account_id, metric, value``: the latest snapshot on or before ``as_of`` per (account, metric).

    One query for the metric ids and one for the values: each value is a correlated subquery
    ``ORDER BY date DESC LIMIT 1`` that the unique (account, metric, date) index answers with one
    seek, so the cost grows with accounts x metrics, not with the snapshot history. With
    ``eligible_only`` (the default) only active accounts old enough to be eligible are read.
    """
    metric_ids = dict(Metric.objects.filter(name__in=list(metric_names)).values_list("name", "pk"))
    names = [m for m in metric_names if m in metric_ids]
    if not names:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    annotations = {
        f"m{i}": Subquery(
            UsageSnapshot.objects.filter(account=OuterRef("pk"), metric_id=metric_ids[name], date__lte=as_of)
            .order_by("-date")
            .values("value")[:1]
        )
        for i, name in enumerate(names)
    }
    queryset = Account.objects.order_by()
    if eligible_only:
        queryset = queryset.filter(
            status=AccountStatus.ACTIVE,
            customer_since__lt=as_of - dt.timedelta(days=ELIGIBLE_MIN_TENURE_DAYS),
        )
    rows = list(queryset.annotate(**annotations).values_list("pk", *annotations))
    wide = pd.DataFrame(rows, columns=["pk", *names])
    wide["account_id"] = wide["pk"].map(_pk_to_account_id(accounts))
    long = wide.melt(id_vars="account_id", value_vars=names, var_name="metric", value_name="value")
    return long.dropna(subset=["value"]).reset_index(drop=True)[METRIC_COLUMNS]


def _commercial_activities():
    return Activity.objects.order_by().filter(commercial=True, type__in=COMMERCIAL_TYPES)


def commercial_touch_bounds(as_of: dt.date, accounts: pd.DataFrame) -> pd.DataFrame:
    """First and last commercial activity per account in the 365 days before ``as_of`` (1 query).

    Two rows per touched account (``account_id, occurred_at, type, commercial``): all the coverage
    diagnostic reads from activities at one date (touched in 365 days, in 182 days, first touch)."""
    start = _utc_midnight(as_of - dt.timedelta(days=COVERED_WINDOW_DAYS))
    end = _utc_midnight(as_of + dt.timedelta(days=1))
    rows = list(
        _commercial_activities()
        .filter(occurred_at__gte=start, occurred_at__lt=end)
        .values("account_id")
        .annotate(first=Min("occurred_at"), last=Max("occurred_at"))
        .values_list("account_id", "first", "last")
    )
    frame = pd.DataFrame(rows, columns=["pk", "first", "last"])
    long = frame.melt(id_vars="pk", value_vars=["first", "last"], value_name="occurred_at")
    return _as_activity_frame(long, accounts)


def commercial_touch_days(start: dt.date, end: dt.date, accounts: pd.DataFrame) -> pd.DataFrame:
    """Distinct (account, UTC day) pairs with a commercial activity from ``start`` to ``end`` (1 query)."""
    rows = list(
        _commercial_activities()
        .filter(
            occurred_at__gte=_utc_midnight(start), occurred_at__lt=_utc_midnight(end + dt.timedelta(days=1))
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=dt.UTC))
        .values_list("account_id", "day")
        .distinct()
    )
    return _as_activity_frame(pd.DataFrame(rows, columns=["pk", "occurred_at"]), accounts)


def _as_activity_frame(frame: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "account_id": frame["pk"].map(_pk_to_account_id(accounts)),
            "occurred_at": pd.to_datetime(frame["occurred_at"], utc=True),
        }
    )
    # Rows come from the commercial filter above; name a type so the core's filter keeps them.
    out["type"] = COMMERCIAL_TYPES[0]
    out["commercial"] = True
    return out[ACTIVITY_COLUMNS]


def won_expansions_frame(start: dt.date, end: dt.date, accounts: pd.DataFrame) -> pd.DataFrame:
    """Won expansions closed between ``start`` and ``end`` inclusive (1 query)."""
    rows = list(
        Expansion.objects.order_by()
        .filter(status=ExpansionStatus.WON, closed_date__gte=start, closed_date__lte=end)
        .values_list("account_id", "status", "closed_date", "expansion_arr")
    )
    frame = pd.DataFrame(rows, columns=EXPANSION_COLUMNS)
    frame["account_id"] = frame["account_id"].map(_pk_to_account_id(accounts))
    frame["expansion_arr"] = frame["expansion_arr"].map(float).astype(float)
    return frame


def coverage_for(
    as_of: dt.date,
    dimensions: Sequence[Dimension] | None = None,
    *,
    quantile: float = DEFAULT_QUANTILE,
    min_top: int = DEFAULT_MIN_TOP,
) -> CoverageResult:
    """The coverage diagnostic at ``as_of`` from the database (5 queries, whatever the size)."""
    dimensions = tuple(dimensions or DEFAULT_DIMENSIONS)
    accounts = accounts_frame()
    metrics = latest_metrics_frame(as_of, needed_metrics(dimensions), accounts)
    activities = commercial_touch_bounds(as_of, accounts)
    expansions = won_expansions_frame(as_of - dt.timedelta(days=HISTORY_WINDOW_DAYS), as_of, accounts)
    return coverage_diagnostic(
        accounts, metrics, activities, expansions, as_of, dimensions, quantile=quantile, min_top=min_top
    )


def coverage_at_days(days: Sequence[dt.date]) -> dict[dt.date, CoverageResult]:
    """The coverage diagnostic (default dimensions) at each of a few ``days`` from one read of the
    data: accounts, commercial touch days and won expansions once for the span, the latest metrics
    once per day (3 + 2 x len(days) queries); the same results as ``coverage_for`` at each day."""
    days = sorted(set(days))
    if not days:
        return {}
    dimensions = DEFAULT_DIMENSIONS
    accounts = accounts_frame()
    first, last = days[0], days[-1]
    touches = commercial_touch_days(first - dt.timedelta(days=COVERED_WINDOW_DAYS), last, accounts)
    expansions = won_expansions_frame(first - dt.timedelta(days=HISTORY_WINDOW_DAYS), last, accounts)
    results = {}
    for day in days:
        metrics = latest_metrics_frame(day, needed_metrics(dimensions), accounts)
        results[day] = coverage_diagnostic(accounts, metrics, touches, expansions, day, dimensions)
    return results


def snapshot_history_range() -> tuple[dt.date | None, dt.date | None]:
    """First and last snapshot date imported (1 query on the date-leading index)."""
    bounds = UsageSnapshot.objects.order_by().aggregate(first=Min("date"), last=Max("date"))
    return bounds["first"], bounds["last"]


def coverage_trend_for(
    start: dt.date | None = None,
    end: dt.date | None = None,
    dimensions: Sequence[Dimension] | None = None,
    *,
    quantile: float = DEFAULT_QUANTILE,
    min_top: int = DEFAULT_MIN_TOP,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Coverage at every month end of the imported snapshot history (or of ``start``..``end``).

    The last point is the last snapshot day when the history stops mid-month. Queries: 5 plus one
    per month (the latest metric values at that month end). ``progress(done, total)`` is told of
    each month read and each month computed (total = 2 x months)."""
    dimensions = tuple(dimensions or DEFAULT_DIMENSIONS)
    if start is None or end is None:
        first, last = snapshot_history_range()
        start, end = start or first, end or last
    if start is None or end is None:
        return []
    points = month_ends(start, end)
    if not points:
        return []
    accounts = accounts_frame()
    steps = 2 * len(points)
    metrics = {}
    for p in points:
        metrics[p] = latest_metrics_frame(p, needed_metrics(dimensions), accounts)
        if progress is not None:
            progress(len(metrics), steps)
    activities = commercial_touch_days(
        points[0] - dt.timedelta(days=COVERED_WINDOW_DAYS), points[-1], accounts
    )
    expansions = won_expansions_frame(
        points[0] - dt.timedelta(days=HISTORY_WINDOW_DAYS), points[-1], accounts
    )
    return coverage_trend(
        accounts,
        metrics,
        activities,
        expansions,
        points,
        dimensions,
        quantile=quantile,
        min_top=min_top,
        progress=(lambda done, _total: progress(len(points) + done, steps)) if progress else None,
    )


def coverage_snapshot_for(
    key: str, as_of: dt.date | None = None, *, with_untouched: bool = False
) -> CoverageSnapshot | None:
    """The stored coverage snapshot for ``key`` (``metrics.params_key``) at ``as_of`` (whatever its
    status), or without ``as_of`` the latest one with numbers (1 query on the (key, as_of) index).

    The untouched list (every account, for the CSV) is only read ``with_untouched``."""
    rows = CoverageSnapshot.objects.filter(params_key=key).select_related("scoring_pass")
    if not with_untouched:
        rows = rows.defer("untouched")
    if as_of is not None:
        return rows.filter(as_of=as_of).first()
    return rows.filter(computed_at__isnull=False).order_by("-as_of").first()
