"""Demo extras of the segment-readiness preset (seed 002, ``presets/segment-readiness.yaml``).

Adds what its readiness gates and triggers read beyond the demo's own usage: ``nps`` (the latest
survey score, following health), ``support_tickets_30d`` (a rolling 30-day count that declines for
about a third of the accounts, rises for some and stays flat for the rest), ``exec_logins_30d`` (the
Enterprise executive sponsor), ``headcount`` (with a reading a year back), ``days_to_renewal`` and
``power_users``; and ``qbr_unmet_need`` product events (a QBR in the last four weeks tagged an unmet
need that matches the roadmap) for some Mid-Market and Enterprise accounts. A few percent up to
about a tenth of the accounts pass their segment's readiness and fire a trigger at as_of.

Pure (numpy and pandas, no Django).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from expansion.demo_presets import _usage

QBR_EVENT = "qbr_unmet_need"
#: Daily support-ticket rate by segment (SMB, MidMarket, Enterprise).
TICKET_RATE = np.array([0.12, 0.35, 0.9])
WINDOW = 30


def _nps(export, days, rng) -> pd.DataFrame:
    health = pd.to_numeric(export.accounts["health_score"], errors="coerce").fillna(70).to_numpy(float)
    score = np.clip(np.round(rng.normal(7.0 + 0.08 * (health - 70.0), 1.2)), 0, 10)
    return _usage.usage_rows(export, days, "nps", score[days.account])


def _support_tickets(export, days, rng) -> pd.DataFrame:
    """Rolling 30-day ticket counts from daily Poisson draws whose rate declines, rises or stays."""
    n, n_days = days.n_accounts, days.n_days
    span = n_days + WINDOW - 1
    high = _usage.propensity(export)
    trend = rng.random(n)
    declining = trend < np.where(high, 0.55, 0.33)
    rising = ~declining & (trend > 0.85)
    start = np.where(declining, rng.uniform(1.3, 1.7, n), np.where(rising, rng.uniform(0.6, 0.8, n), 1.0))
    end = np.where(declining, rng.uniform(0.4, 0.7, n), np.where(rising, rng.uniform(1.3, 1.6, n), 1.0))
    base = TICKET_RATE[_usage.segment_codes(export)] * np.exp(rng.normal(0.0, 0.3, n))
    t = np.linspace(0.0, 1.0, span)[None, :]
    rate = base[:, None] * (start[:, None] + (end - start)[:, None] * t)
    daily = rng.poisson(rate)
    cum = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(daily, axis=1)], axis=1)
    rolling = cum[:, WINDOW:] - cum[:, :-WINDOW]  # (n, n_days); the last column is as_of
    values = rolling[days.account, n_days - 1 - days.back]
    return _usage.usage_rows(export, days, "support_tickets_30d", values)


def _qbr_events(export, rng) -> pd.DataFrame:
    accounts = export.accounts
    segment = _usage.segment_codes(export)
    active = (accounts["status"] == "active").to_numpy()
    share = np.where(_usage.propensity(export), 0.35, 0.10)
    tagged = np.flatnonzero(active & (segment > 0) & (rng.random(len(accounts)) < share))
    back = rng.integers(1, 29, len(tagged))
    minutes = rng.integers(9 * 60, 17 * 60, len(tagged)) // 15 * 15
    when = (
        np.datetime64(dt.datetime.combine(export.as_of, dt.time()), "m")
        - (back * 24 * 60).astype("timedelta64[m]")
        + minutes.astype("timedelta64[m]")
    )
    return pd.DataFrame(
        {
            "event_id": [f"EV-QBR-{i:06d}" for i in range(1, len(tagged) + 1)],
            "account_id": accounts["account_id"].to_numpy(dtype=object)[tagged],
            "occurred_at": np.char.add(np.datetime_as_string(when, unit="s"), "Z").astype(object),
            "event": np.full(len(tagged), QBR_EVENT, dtype=object),
            "properties": np.full(
                len(tagged), '{"source": "qbr_notes", "matches_roadmap": true}', dtype=object
            ),
        }
    )


def extras(export, rng) -> dict[str, pd.DataFrame]:
    """Extra rows for the demo export's frames, by CSV name (``usage.csv`` and ``events.csv``)."""
    days = _usage.reporting_days(export)
    parts = [
        _nps(export, days, rng),
        _support_tickets(export, days, rng),
        _usage.exec_logins(export, days, rng, share_high=0.7, share_other=0.45),
        *_usage.headcount(export, days, rng, grow_high=0.25, grow_other=0.05),
        _usage.days_to_renewal(export, days),
        _usage.power_users(export, days, rng, share_high=0.30, share_other=0.05),
    ]
    return {"usage.csv": pd.concat(parts, ignore_index=True), "events.csv": _qbr_events(export, rng)}
