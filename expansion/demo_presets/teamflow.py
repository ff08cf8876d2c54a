"""Demo data for the TeamFlow preset (seed 003): what its triggers A-E read beyond the base export.

- ``integration_page_views_30d``: integration page views over 30 days, a few a month for most
  accounts, a burst (4-9) for about one Starter/Professional account in eight (trigger C);
- ``power_users``: users working 20+ hours a week, 0-2 for most, 3-6 for the last 14-30 days on
  about one Starter/Professional account in ten (trigger D);
- ``invite_blocked_seat_limit`` events on about a third of the accounts whose seats are at least
  95% used, within the day before ``as_of`` (trigger A);
- each account's IANA ``timezone`` (timed deliveries, trigger B) and an ``admin_email`` (self-serve).

Pure: numpy and pandas only, vectorised over accounts and days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ZONES = ("America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Singapore")
EVENT = "invite_blocked_seat_limit"


def _long(account_ids: np.ndarray, days: np.ndarray, metric: str, values: np.ndarray) -> pd.DataFrame:
    n, d = values.shape
    return pd.DataFrame(
        {
            "account_id": np.repeat(account_ids, d),
            "date": np.tile(days, n),
            "metric": metric,
            "value": values.reshape(-1).astype(np.int64),
        }
    )


def extras(export, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    accounts = export.accounts
    ids = accounts["account_id"].to_numpy(dtype=object)
    n = len(ids)
    days = np.array(sorted(export.usage["date"].unique()), dtype=object)
    d = len(days)
    lower_tier = accounts["plan_tier"].isin(["Starter", "Professional"]).to_numpy()
    offset = np.arange(d)[None, :]  # day index; d - 1 is as_of

    views = rng.poisson(0.8, (n, d))
    exploring = lower_tier & (rng.random(n) < 0.125)
    onset = d - rng.integers(3, 25, n)
    burst = exploring[:, None] & (offset >= onset[:, None])
    views = np.where(burst, rng.integers(4, 10, (n, d)), np.minimum(views, 3))

    power = np.minimum(rng.poisson(0.7, (n, d)), 2)
    rising = lower_tier & (rng.random(n) < 0.10)
    start = d - rng.integers(14, 31, n)
    power = np.where(rising[:, None] & (offset >= start[:, None]), rng.integers(3, 7, (n, d)), power)

    usage = pd.concat(
        [
            _long(ids, days, "integration_page_views_30d", views),
            _long(ids, days, "power_users", power),
        ],
        ignore_index=True,
    )

    latest = export.usage[(export.usage["metric"] == "seats_active") & (export.usage["date"] == days[-1])]
    seats_active = latest.set_index("account_id")["value"].reindex(ids).fillna(0).to_numpy(dtype=float)
    licensed = accounts["seats_licensed"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        full = np.where(licensed > 0, seats_active / licensed, 0) >= 0.95
    blocked = full & (rng.random(n) < 0.35)
    as_of = pd.Timestamp(export.as_of, tz="UTC")
    minutes = rng.integers(0, 6 * 60, n)
    picked = np.flatnonzero(blocked)
    events = pd.DataFrame(
        {
            "event_id": [f"demo-invite-{ids[i]}" for i in picked],
            "account_id": ids[picked],
            "occurred_at": [
                (as_of + pd.Timedelta(minutes=int(minutes[i]))).strftime("%Y-%m-%dT%H:%M:%SZ") for i in picked
            ],
            "event": EVENT,
            "properties": ['{"source": "invite_dialog"}'] * len(picked),
        }
    )
    slug = accounts["account_id"].str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True)
    account_columns = pd.DataFrame(
        {
            "account_id": ids,
            "timezone": np.array(ZONES, dtype=object)[rng.integers(0, len(ZONES), n)],
            "admin_email": ("admin@" + slug + ".example").to_numpy(dtype=object),
        }
    )
    return {"usage.csv": usage, "events.csv": events, "accounts.csv": account_columns}
