"""Report tables computed from plain frames: pure pandas, no ORM, no Django, no settings, no I/O.

Coverage diagnostic (``spec/domain.md``, "Coverage diagnostic", from the case study's Appendix B),
for one ``as_of`` date:

- Eligible: ``status == "active"`` and tenure ``(as_of - customer_since).days > 182``.
- Dimensions (configurable, ``Dimension``): a metric, optionally divided by another metric or an
  account field, read from the latest snapshot on or before ``as_of``. A zero or missing value on
  either side gives NaN.
- Top quartile on a dimension: ``value >= Series.quantile(0.75)`` (linear interpolation) over the
  eligible accounts; NaN is never top and does not enter the quantile.
- Expansion-ready: top quartile on at least ``min_top`` (3) dimensions.
- Commercial activity: ``commercial`` is true and ``type`` is call, email, meeting or proposal; its
  day is the (UTC) date of ``occurred_at``; ``days = (as_of - day).days``.
- Covered: ready with a commercial activity with ``0 <= days <= 365``.
- Untouched: ready with no commercial activity with ``0 <= days <= 182``.
- Quartile view: composite = mean of ``Series.rank(pct=True)`` of the dimensions over the eligible
  accounts (NaN dimensions skipped; rounded to 12 decimals so exact ties stay ties). Accounts are
  ordered by (composite, account_id), numbered ``r = 1..n`` and put in quartile
  ``max(1, ceil(4 (r - 1) / (n - 1)))`` (1 when n == 1): exactly ``pd.qcut(r, 4, labels=[1, 2, 3, 4])``,
  without its failure on n == 1. Quartile 4 is the top.
  Per quartile: ``touched`` = accounts with a commercial activity in the 365-day window; ``won`` =
  touched accounts with a won expansion closed in that window on or after their first touch in it;
  ``conversion = won / touched`` (0 when nobody was touched).
- Opportunity for the untouched: ``untouched x attach_rate x median won expansion ARR`` (median over
  every won expansion closed in the 365-day window; 0 when none). Attach rates: conservative 0.35;
  middle = the top quartile's conversion; upside = ``min(1, middle x 1.25)``.

Precision: every rate, cut and median is the full-precision float (a ratio of counts is the
correctly rounded quotient; the upside rate is computed in exact fractions, then converted once).
Only the estimates, money amounts, are rounded to cents, from the exact product of the unrounded
count, rate and median. Pages and summaries round for people when they print.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from dashboards.numbers import as_date, float_or_nan, rate

#: Tenure (days since ``customer_since``) an account must exceed to be eligible.
ELIGIBLE_MIN_TENURE_DAYS = 182
#: Window (days before ``as_of``, inclusive) in which a commercial touch makes a ready account covered.
COVERED_WINDOW_DAYS = 365
#: Window (days before ``as_of``, inclusive) without a commercial touch that makes a ready account untouched.
UNTOUCHED_WINDOW_DAYS = 182
#: Window for the touch-to-won history and the median won expansion ARR.
HISTORY_WINDOW_DAYS = 365
DEFAULT_QUANTILE = 0.75
DEFAULT_MIN_TOP = 3
COMMERCIAL_TYPES = ("call", "email", "meeting", "proposal")
ACTIVE_STATUS = "active"
CONSERVATIVE_ATTACH_RATE = Fraction(35, 100)
UPSIDE_MULTIPLIER = Fraction(125, 100)
QUARTILES = (1, 2, 3, 4)
TOP_QUARTILE = 4
COMPOSITE_DECIMALS = 12
#: Estimates are money: rounded to cents (half to even, on the exact product).
MONEY_DECIMALS = 2


@dataclass(frozen=True)
class Dimension:
    """One usage dimension: ``metric``, or ``metric / denominator_metric``, or ``metric / denominator_field``
    (an account column such as ``seats_licensed``)."""

    name: str
    metric: str
    denominator_metric: str = ""
    denominator_field: str = ""

    def __post_init__(self) -> None:
        if self.denominator_metric and self.denominator_field:
            raise ValueError(
                f"dimension {self.name!r}: give a denominator metric or an account field, not both"
            )

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric, self.denominator_metric) if self.denominator_metric else (self.metric,)

    @property
    def denominator(self) -> str:
        return self.denominator_metric or self.denominator_field

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "metric": self.metric, "denominator": self.denominator}


DEFAULT_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("feature breadth", "features_used"),
    Dimension("seat utilisation", "seats_active", denominator_field="seats_licensed"),
    Dimension("API consumption", "api_calls_30d", denominator_field="api_limit_30d"),
    Dimension("automation depth", "automation_workflows"),
)


def needed_metrics(dimensions: Sequence[Dimension]) -> tuple[str, ...]:
    """Metric names the dimensions read, in first-use order."""
    return tuple(dict.fromkeys(m for d in dimensions for m in d.metrics))


@dataclass(frozen=True)
class QuartileRow:
    quartile: int
    accounts: int
    touched: int
    won: int
    conversion: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "quartile": self.quartile,
            "accounts": self.accounts,
            "touched": self.touched,
            "won": self.won,
            "conversion": self.conversion,
        }


@dataclass(frozen=True)
class Scenario:
    name: str
    attach_rate: float
    accounts: int
    median_won_expansion_arr: float
    estimate: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "attach_rate": self.attach_rate,
            "accounts": self.accounts,
            "median_won_expansion_arr": self.median_won_expansion_arr,
            "estimate": self.estimate,
        }


@dataclass(frozen=True)
class CoverageResult:
    """The coverage diagnostic at one date. ``table`` has one row per eligible account (the CSV download)."""

    as_of: dt.date
    eligible: int
    expansion_ready: int
    covered: int
    coverage_rate: float
    untouched: int
    untouched_account_ids: tuple[str, ...]
    quartiles: tuple[QuartileRow, ...]
    scenarios: tuple[Scenario, ...]
    median_won_expansion_arr: float
    dimensions: tuple[Dimension, ...]
    cuts: tuple[float | None, ...]
    quantile: float
    min_top: int
    by_segment: tuple[tuple[str, dict[str, Any]], ...]
    table: pd.DataFrame = field(compare=False, repr=False)

    @property
    def untouched_table(self) -> pd.DataFrame:
        return self.table[self.table["untouched"]].reset_index(drop=True)

    def to_json(self) -> dict[str, Any]:
        """The ``coverage --json`` payload (``spec/contract.md``) plus the cuts, dimensions and segments."""
        return {
            "as_of": self.as_of.isoformat(),
            "eligible": self.eligible,
            "expansion_ready": self.expansion_ready,
            "covered": self.covered,
            "coverage_rate": self.coverage_rate,
            "untouched": self.untouched,
            "untouched_account_ids": list(self.untouched_account_ids),
            "quartiles": [q.as_dict() for q in self.quartiles],
            "scenarios": {s.name: s.as_dict() for s in self.scenarios},
            "median_won_expansion_arr": self.median_won_expansion_arr,
            "quantile": self.quantile,
            "min_top": self.min_top,
            "dimensions": [
                {**d.as_dict(), "cut": cut} for d, cut in zip(self.dimensions, self.cuts, strict=True)
            ],
            "by_segment": {name: dict(row) for name, row in self.by_segment},
        }


# --------------------------------------------------------------------------------------------- helpers


def _to_day(values: pd.Series) -> pd.Series:
    """Dates, ISO strings, naive or aware datetimes -> naive midnight timestamps (aware ones in UTC)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ts = values.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        ts = values
    else:
        ts = pd.to_datetime(values, utc=True, format="ISO8601" if _all_strings(values) else None)
        ts = ts.dt.tz_localize(None)
    return ts.dt.normalize()


def _all_strings(values: pd.Series) -> bool:
    return bool(len(values)) and all(isinstance(v, str) for v in values)


def _as_bool(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.fillna(False).astype(bool)
    return values.map(lambda v: str(v).strip().lower() in ("true", "1", "yes", "t")).astype(bool)


def _days_before(as_of: dt.date, days: pd.Series) -> pd.Series:
    """``(as_of - day).days`` for a series of midnight timestamps."""
    return (pd.Timestamp(as_of) - days).dt.days


def _exact_rate(numerator: int, denominator: int) -> Fraction:
    return Fraction(numerator, denominator) if denominator else Fraction(0)


def _numeric(values: pd.Series) -> pd.Series:
    """Numbers, Decimals (money from the ORM), numeric strings -> float; anything else -> NaN."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    return values.astype(object).map(float_or_nan).astype(float)


def _latest_wide(
    latest_metrics: pd.DataFrame, as_of: dt.date, metrics: Sequence[str], index: pd.Index
) -> pd.DataFrame:
    """Long ``account_id, metric, value[, date]`` -> one row per account, one column per metric.

    With a ``date`` column, rows after ``as_of`` are dropped and the latest remaining row per
    (account, metric) wins, so a caller that passes raw snapshots still gets the spec's reading."""
    frame = latest_metrics
    if frame is None or frame.empty:
        return pd.DataFrame(np.nan, index=index, columns=list(metrics), dtype=float)
    frame = frame[frame["metric"].isin(metrics)]
    if "date" in frame.columns:
        day = _to_day(frame["date"])
        keep = day <= pd.Timestamp(as_of)
        frame = frame.assign(_day=day)[keep].sort_values("_day", kind="stable")
    frame = frame.drop_duplicates(["account_id", "metric"], keep="last")
    wide = frame.set_index(["account_id", "metric"])["value"].astype(float).unstack("metric")
    return wide.reindex(index=index, columns=list(metrics)).astype(float)


def _dimension_values(dimension: Dimension, wide: pd.DataFrame, accounts: pd.DataFrame) -> pd.Series:
    numerator = wide[dimension.metric]
    if dimension.denominator_metric:
        denominator = wide[dimension.denominator_metric]
    elif dimension.denominator_field:
        if dimension.denominator_field not in accounts.columns:
            raise ValueError(
                f"dimension {dimension.name!r}: no account field {dimension.denominator_field!r}"
            )
        denominator = _numeric(accounts[dimension.denominator_field])
    else:
        return numerator.astype(float)
    denominator = denominator.where(denominator > 0)
    return (numerator / denominator).astype(float)


def quartile_of_position(position: int, n: int) -> int:
    """Quartile (1..4) of the ``position``-th (1-based) of ``n`` ordered accounts, as ``pd.qcut`` bins it."""
    if n <= 1:
        return 1
    return max(1, -(-4 * (position - 1) // (n - 1)))


def _quartiles(composite: pd.Series) -> pd.Series:
    """Quartile per account by composite (ties broken by account id); NaN composite -> no quartile."""
    known = composite.dropna()
    if known.empty:
        return pd.Series(pd.NA, index=composite.index, dtype="Int64")
    ordered = (
        known.rename("composite")
        .rename_axis("account_id")
        .reset_index()
        .sort_values(["composite", "account_id"], kind="stable")
    )
    n = len(ordered)
    # quartile_of_position for r = 1..n: ceil(4 (r - 1) / (n - 1)) in integers, at least 1.
    quartile = np.maximum(1, -(-4 * np.arange(n) // max(n - 1, 1)))
    result = pd.Series(quartile, index=ordered["account_id"].to_numpy(), dtype="Int64")
    return result.reindex(composite.index)


def _commercial_days(activities: pd.DataFrame | None, as_of: dt.date) -> pd.DataFrame:
    """Commercial activities with their ``days`` before ``as_of`` (0..365 only)."""
    columns = ["account_id", "day", "days"]
    if activities is None or activities.empty:
        return pd.DataFrame(columns=columns)
    commercial = _as_bool(activities["commercial"]) & activities["type"].isin(COMMERCIAL_TYPES)
    acts = activities[commercial]
    if acts.empty:
        return pd.DataFrame(columns=columns)
    day = _to_day(acts["occurred_at"])
    days = _days_before(as_of, day)
    frame = pd.DataFrame({"account_id": acts["account_id"].to_numpy(), "day": day.to_numpy(), "days": days})
    return frame[(frame["days"] >= 0) & (frame["days"] <= COVERED_WINDOW_DAYS)]


def _won_in_window(expansions: pd.DataFrame | None, as_of: dt.date) -> pd.DataFrame:
    columns = ["account_id", "day", "expansion_arr"]
    if expansions is None or expansions.empty:
        return pd.DataFrame(columns=columns)
    won = expansions[(expansions["status"] == "won") & expansions["closed_date"].notna()]
    if won.empty:
        return pd.DataFrame(columns=columns)
    day = _to_day(won["closed_date"])
    days = _days_before(as_of, day)
    frame = pd.DataFrame(
        {
            "account_id": won["account_id"].to_numpy(),
            "day": day.to_numpy(),
            "expansion_arr": _numeric(won["expansion_arr"]).to_numpy(),
        }
    )
    return frame[((days >= 0) & (days <= HISTORY_WINDOW_DAYS)).to_numpy()]


# ------------------------------------------------------------------------------------------ diagnostic


def coverage_diagnostic(
    accounts: pd.DataFrame,
    latest_metrics: pd.DataFrame,
    activities: pd.DataFrame,
    expansions: pd.DataFrame,
    as_of: dt.date | str,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    quantile: float = DEFAULT_QUANTILE,
    min_top: int = DEFAULT_MIN_TOP,
) -> CoverageResult:
    """Coverage diagnostic at ``as_of`` (rules in the module docstring).

    - ``accounts``: account_id, status, customer_since, plus segment, name, contract_arr and any
      account field a dimension divides by (seats_licensed, api_limit_30d by default).
    - ``latest_metrics``: long account_id, metric, value (the latest value on or before ``as_of``);
      an optional ``date`` column makes the function pick that latest value itself.
    - ``activities``: account_id, occurred_at (date or datetime), type, commercial.
    - ``expansions``: account_id, status, closed_date, expansion_arr.
    """
    as_of = as_date(as_of)
    dimensions = tuple(dimensions)
    if not dimensions:
        raise ValueError("the coverage diagnostic needs at least one dimension")
    if not 1 <= min_top <= len(dimensions):
        raise ValueError(f"min_top must be between 1 and {len(dimensions)} (the number of dimensions)")

    # Eligible accounts.
    acc = accounts.drop_duplicates("account_id", keep="last").set_index("account_id", drop=False)
    tenure = _days_before(as_of, _to_day(acc["customer_since"]))
    eligible_mask = (acc["status"] == ACTIVE_STATUS) & (tenure > ELIGIBLE_MIN_TENURE_DAYS)
    elig = acc[eligible_mask.to_numpy()]
    index = pd.Index(elig["account_id"], name="account_id")

    # Dimension values, cuts, ready.
    wide = _latest_wide(latest_metrics, as_of, needed_metrics(dimensions), index)
    values = pd.DataFrame(
        {d.name: _dimension_values(d, wide, elig).to_numpy() for d in dimensions}, index=index
    )
    cut_series = values.quantile(quantile) if len(values) else pd.Series(np.nan, index=values.columns)
    cuts = tuple(None if pd.isna(cut_series[d.name]) else float(cut_series[d.name]) for d in dimensions)
    top = pd.DataFrame(
        {
            d.name: (values[d.name] >= cut).fillna(False).astype(bool) if cut is not None else False
            for d, cut in zip(dimensions, cuts, strict=True)
        },
        index=index,
    )
    top_count = top.sum(axis=1).astype(int)
    ready = top_count >= min_top

    # Composite usage quartile.
    # Rounded so that composites equal in exact arithmetic tie exactly (then account_id decides),
    # whatever order the float additions happened in.
    composite = values.rank(pct=True).mean(axis=1, skipna=True).round(COMPOSITE_DECIMALS)
    quartile = _quartiles(composite)

    # Commercial touches.
    touches = _commercial_days(activities, as_of)
    touches = touches[touches["account_id"].isin(index)]
    grouped = touches.groupby("account_id")["day"]
    first_touch = pd.to_datetime(grouped.min().reindex(index))
    last_touch = pd.to_datetime(grouped.max().reindex(index))
    touched_365 = first_touch.notna()
    last_days = _days_before(as_of, last_touch)
    touched_182 = (last_days <= UNTOUCHED_WINDOW_DAYS).fillna(False).astype(bool)
    covered = ready & touched_365
    untouched = ready & ~touched_182

    # Won expansions: median ARR (every account) and touch-to-won per eligible account.
    won = _won_in_window(expansions, as_of)
    median_won = float(won["expansion_arr"].median()) if len(won) else 0.0
    if math.isnan(median_won):
        median_won = 0.0
    won_after_touch = won.merge(
        first_touch.dropna().rename("first_touch").rename_axis("account_id").reset_index(), on="account_id"
    )
    converted_ids = won_after_touch.loc[
        won_after_touch["day"] >= won_after_touch["first_touch"], "account_id"
    ]
    converted = pd.Series(index.isin(converted_ids.unique()), index=index) & touched_365

    quartiles = []
    for q in QUARTILES:
        in_q = (quartile == q).fillna(False).astype(bool)
        n_touched = int((in_q & touched_365).sum())
        n_won = int((in_q & converted).sum())
        quartiles.append(
            QuartileRow(
                quartile=q,
                accounts=int(in_q.sum()),
                touched=n_touched,
                won=n_won,
                conversion=rate(n_won, n_touched, empty=0.0),
            )
        )

    n_untouched = int(untouched.sum())
    top_row = quartiles[TOP_QUARTILE - 1]
    middle = _exact_rate(top_row.won, top_row.touched)
    attach = {
        "conservative": CONSERVATIVE_ATTACH_RATE,
        "middle": middle,
        "upside": min(Fraction(1), middle * UPSIDE_MULTIPLIER),
    }
    scenarios = tuple(
        Scenario(
            name=name,
            attach_rate=float(rate),
            accounts=n_untouched,
            median_won_expansion_arr=median_won,
            estimate=float(round(n_untouched * rate * Fraction(median_won), MONEY_DECIMALS)),
        )
        for name, rate in attach.items()
    )

    # Per-account table (the CSV download) and the by-segment breakdown.
    table = pd.DataFrame(
        {
            "account_id": index.to_numpy(),
            "name": elig["name"].to_numpy() if "name" in elig else index.to_numpy(),
            "segment": elig["segment"].to_numpy() if "segment" in elig else "",
            "contract_arr": _numeric(elig["contract_arr"]).to_numpy() if "contract_arr" in elig else np.nan,
            "tenure_days": tenure[eligible_mask.to_numpy()].to_numpy(),
        }
    )
    for d in dimensions:
        table[d.name] = values[d.name].to_numpy()
        table[f"top: {d.name}"] = top[d.name].to_numpy()
    table["top_count"] = top_count.to_numpy()
    table["expansion_ready"] = ready.to_numpy()
    table["composite"] = composite.to_numpy()
    table["quartile"] = quartile.to_numpy()
    table["first_touch_365d"] = first_touch.dt.date.to_numpy()
    table["last_touch_365d"] = last_touch.dt.date.to_numpy()
    table["days_since_touch"] = last_days.astype("Int64").to_numpy()
    table["covered"] = covered.to_numpy()
    table["untouched"] = untouched.to_numpy()
    table["won_after_touch"] = converted.to_numpy()
    table = table.sort_values("account_id", kind="stable").reset_index(drop=True)

    by_segment = []
    for segment, rows in table.groupby("segment", sort=True):
        n_ready, n_cov = int(rows["expansion_ready"].sum()), int(rows["covered"].sum())
        by_segment.append(
            (
                str(segment),
                {
                    "eligible": len(rows),
                    "expansion_ready": n_ready,
                    "covered": n_cov,
                    "coverage_rate": rate(n_cov, n_ready, empty=0.0),
                    "untouched": int(rows["untouched"].sum()),
                },
            )
        )

    n_ready, n_covered = int(ready.sum()), int(covered.sum())
    return CoverageResult(
        as_of=as_of,
        eligible=len(index),
        expansion_ready=n_ready,
        covered=n_covered,
        coverage_rate=rate(n_covered, n_ready, empty=0.0),
        untouched=n_untouched,
        untouched_account_ids=tuple(sorted(str(a) for a in index[untouched.to_numpy()])),
        quartiles=tuple(quartiles),
        scenarios=scenarios,
        median_won_expansion_arr=median_won,
        dimensions=dimensions,
        cuts=cuts,
        quantile=quantile,
        min_top=min_top,
        by_segment=tuple(by_segment),
        table=table,
    )


# ----------------------------------------------------------------------------------------------- trend


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Last day of every month from ``start``'s month to ``end``'s; the last one is capped at ``end``."""
    if end < start:
        return []
    points = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        nxt = dt.date(year + month // 12, month % 12 + 1, 1)
        points.append(min(nxt - dt.timedelta(days=1), end))
        year, month = nxt.year, nxt.month
    return points


def coverage_trend(
    accounts: pd.DataFrame,
    latest_metrics: Mapping[dt.date, pd.DataFrame] | pd.DataFrame,
    activities: pd.DataFrame,
    expansions: pd.DataFrame,
    as_of_dates: Sequence[dt.date] | None = None,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    quantile: float = DEFAULT_QUANTILE,
    min_top: int = DEFAULT_MIN_TOP,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Coverage at each date of ``as_of_dates`` (month ends, see ``month_ends``), by ``coverage_diagnostic``.

    ``latest_metrics`` is either one frame per date (a mapping; its keys are the default dates) or
    one long frame with a ``date`` column from which the latest value on or before each date is read.
    ``progress(done, total)`` is called after each date.
    Returns ``[{month: "YYYY-MM", as_of, eligible, expansion_ready, covered, coverage_rate}]``.
    """
    if as_of_dates is None:
        if not isinstance(latest_metrics, Mapping):
            raise ValueError("give as_of_dates when latest_metrics is a single frame")
        as_of_dates = sorted(latest_metrics)
    points = []
    for as_of in as_of_dates:
        metrics = latest_metrics[as_of] if isinstance(latest_metrics, Mapping) else latest_metrics
        result = coverage_diagnostic(
            accounts, metrics, activities, expansions, as_of, dimensions, quantile=quantile, min_top=min_top
        )
        points.append(
            {
                "month": f"{result.as_of:%Y-%m}",
                "as_of": result.as_of.isoformat(),
                "eligible": result.eligible,
                "expansion_ready": result.expansion_ready,
                "covered": result.covered,
                "coverage_rate": result.coverage_rate,
            }
        )
        if progress is not None:
            progress(len(points), len(as_of_dates))
    return points


# ----------------------------------------------------------------------------------- stored snapshot


def params_key(dimensions: Sequence[Dimension], min_top: int, quantile: float = DEFAULT_QUANTILE) -> str:
    """The stored snapshot's key for one choice of dimensions, k and quantile (stable, readable)."""
    return f"k={min_top};q={quantile:g};dims=" + ",".join(d.name for d in dimensions)


def untouched_columns(dimensions: Sequence[Dimension]) -> list[str]:
    """Columns of the untouched list (the page's table and the CSV download), in CSV order."""
    return [
        "account_id",
        "name",
        "segment",
        "contract_arr",
        "tenure_days",
        *[d.name for d in dimensions],
        "top_count",
        "composite",
        "quartile",
        "last_touch_365d",
        "days_since_touch",
    ]


def _plain(value: Any) -> Any:
    """A table cell as JSON: numpy numbers as Python numbers, dates as ISO text, NaN/NA/NaT as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def untouched_records(result: CoverageResult) -> dict[str, Any]:
    """The untouched expansion-ready accounts, highest contract ARR first (then account id), as
    ``{"columns": [...], "rows": [[...], ...]}`` with JSON-ready cells (full precision)."""
    columns = untouched_columns(result.dimensions)
    table = result.untouched_table.sort_values(
        ["contract_arr", "account_id"], ascending=[False, True], kind="stable"
    )
    rows = [[_plain(v) for v in record] for record in table[columns].itertuples(index=False)]
    return {"columns": columns, "rows": rows}
