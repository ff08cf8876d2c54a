"""Shared pieces of the preset demo extras: the days each demo account reports usage on, the long usage
rows in the demo export's format, and the metrics both seed presets read (headcount, days to renewal,
power users, executive logins).

Pure (numpy and pandas, no Django). Every function draws from the ``rng`` it is given, so the same
export and seed always give the same rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A year back, for ratios over 365 days (headcount growth year over year).
YEAR_DAYS = 365
#: A metric every reporting day of an account has in the demo export (expansion.demo.BASE_METRICS).
DAY_MARKER = "seats_active"
SEGMENT_CODES = {"SMB": 0, "MidMarket": 1, "Enterprise": 2}


@dataclass(frozen=True)
class ReportingDays:
    """The (account, day) pairs the export has usage for: ``account`` (position in export.accounts)
    and ``back`` (days before as_of) per pair, with the export's ``as_of``."""

    account: np.ndarray
    back: np.ndarray
    as_of: dt.date
    n_accounts: int

    @property
    def n_days(self) -> int:
        return int(self.back.max()) + 1 if len(self.back) else 1

    def dates(self, extra_back: int = 0) -> np.ndarray:
        """The pairs' dates as ISO text (``extra_back`` days earlier)."""
        back = np.arange(self.n_days) + extra_back
        text = np.datetime_as_string(np.datetime64(self.as_of, "D") - back.astype("timedelta64[D]"), unit="D")
        return text.astype(object)[self.back]


def reporting_days(export) -> ReportingDays:
    """Every (account, day) of ``export.usage``, vectorised (one row per pair)."""
    usage = export.usage
    marked = usage[usage["metric"] == DAY_MARKER]
    pairs = marked if len(marked) else usage.drop_duplicates(["account_id", "date"])
    index = pd.Index(export.accounts["account_id"])
    account = index.get_indexer(pairs["account_id"].to_numpy())
    keep = account >= 0
    # few distinct dates: parse those once and map back by code
    codes, uniques = pd.factorize(pairs["date"].to_numpy()[keep])
    unique_days = pd.to_datetime(pd.Series(uniques, dtype=object)).to_numpy().astype("datetime64[D]")
    back = (np.datetime64(export.as_of, "D") - unique_days).astype(np.int64)[codes]
    ok = back >= 0
    return ReportingDays(
        account=account[keep][ok].astype(np.int64),
        back=back[ok],
        as_of=export.as_of,
        n_accounts=len(index),
    )


def usage_rows(export, days: ReportingDays, metric: str, values: np.ndarray, extra_back: int = 0):
    """Long usage rows (account_id, date, metric, value) like ``export.usage``, one per pair."""
    ids = export.accounts["account_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "account_id": ids[days.account],
            "date": days.dates(extra_back),
            "metric": np.full(len(days.account), metric, dtype=object),
            "value": np.maximum(np.round(values), 0).astype(np.int64),
        }
    )


def propensity(export) -> np.ndarray:
    """The demo's latent expansion propensity per account (False when the export has none)."""
    ids = export.accounts["account_id"]
    if export.propensity is None or len(export.propensity) == 0:
        return np.zeros(len(ids), dtype=bool)
    return export.propensity.reindex(ids.to_numpy()).fillna(False).to_numpy(dtype=bool)


def segment_codes(export) -> np.ndarray:
    return export.accounts["segment"].map(SEGMENT_CODES).fillna(0).to_numpy(dtype=np.int64)


def headcount(export, days: ReportingDays, rng, *, grow_high: float, grow_other: float) -> list:
    """``headcount`` rows on every reporting day and a year before each of them (for the 365-day ratio).

    Company size by segment; most companies grow a few percent a year, a share (``grow_high`` of the
    high-propensity accounts, ``grow_other`` of the others) grows 22-60%."""
    n = days.n_accounts
    segment = segment_codes(export)
    size = np.array([60.0, 600.0, 6000.0])[segment] * np.exp(rng.normal(0.0, 0.5, n))
    growing = rng.random(n) < np.where(propensity(export), grow_high, grow_other)
    growth = np.where(growing, rng.uniform(0.22, 0.60, n), np.clip(rng.normal(0.04, 0.06, n), -0.15, 0.16))
    now = size[days.account] * (1.0 + growth[days.account]) ** (-days.back / YEAR_DAYS)
    year_ago = now / (1.0 + growth[days.account])
    return [
        usage_rows(export, days, "headcount", now),
        usage_rows(export, days, "headcount", year_ago, extra_back=YEAR_DAYS),
    ]


def days_to_renewal(export, days: ReportingDays) -> pd.DataFrame:
    """``days_to_renewal``: days from each reporting day to the account's renewal date."""
    renewal = pd.to_datetime(export.accounts["renewal_date"]).to_numpy().astype("datetime64[D]")
    day = np.datetime64(days.as_of, "D") - days.back.astype("timedelta64[D]")
    left = (renewal[days.account] - day).astype(np.int64)
    return usage_rows(export, days, "days_to_renewal", np.maximum(left, 0))


def power_users(export, days: ReportingDays, rng, *, share_high: float, share_other: float) -> pd.DataFrame:
    """``power_users``: users engaging at twice the account's average (the top decile) over 30 days.

    Most accounts have 0-2; a share (by propensity) has 3-6 since a day 5-60 days back."""
    n = days.n_accounts
    quiet = rng.choice(3, size=n, p=(0.55, 0.30, 0.15))
    emerging = rng.random(n) < np.where(propensity(export), share_high, share_other)
    count = rng.integers(3, 7, n)
    since = rng.integers(5, 61, n)
    a = days.account
    value = np.where(emerging[a] & (days.back <= since[a]), count[a], quiet[a])
    return usage_rows(export, days, "power_users", value)


def exec_logins(export, days: ReportingDays, rng, *, share_high: float, share_other: float) -> pd.DataFrame:
    """``exec_logins_30d``: logins (or meetings) of C-level people in the last 30 days; 0 for most
    accounts, 1-4 for a share (by propensity) since a day 0-45 days back."""
    n = days.n_accounts
    engaged = rng.random(n) < np.where(propensity(export), share_high, share_other)
    count = rng.integers(1, 5, n)
    since = rng.integers(0, 46, n)
    a = days.account
    return usage_rows(
        export, days, "exec_logins_30d", np.where(engaged[a] & (days.back <= since[a]), count[a], 0)
    )
