"""A realistic, deterministic demo: a warehouse export (``spec/contract.md``) and its import.

``generate`` is pure (numpy and pandas, no Django): for one ``seed`` and ``as_of`` it always returns
the same frames, and ``write_export`` always writes the same bytes. ``seed_demo`` writes the export,
loads it through ``expansion.services.import_directory`` (the path users take) and then gives every
demo person a password and their role group.

The story follows the case study (``shared/seeds/000``): about a fifth of the accounts carry a latent
*expansion propensity*. Their usage trends up (seats past 90% utilisation and staying there, API calls
near the plan limit, new departments, visits to gated modules, more automations), yet only about a
third of them had a commercial conversation in the last year. Where one happened it usually ended in
a won expansion of the kind the usage pointed at; elsewhere expansions are rarer and mostly lost.
The propensity is returned by ``generate`` (for tests and demos) but never written to the CSVs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DEMO_DOMAIN = "demo.example"
DEFAULT_SEED = 42
DEFAULT_ACCOUNTS = 1500
#: Daily usage snapshots up to and including ``as_of``.
USAGE_DAYS = 100
#: Activities and historical expansions reach back this far (13 months).
HISTORY_DAYS = 395

MODULES = ("analytics", "automation_plus", "sso_security", "integrations_hub")
SEGMENTS = ("SMB", "MidMarket", "Enterprise")
TIERS = ("Starter", "Professional", "Business", "Enterprise")
BASE_METRICS = (
    "seats_active",
    "api_calls_30d",
    "features_used",
    "automation_workflows",
    "departments_active",
    "export_rows_30d",
)
GATED_METRIC = "gated_feature_views_14d"
METRIC_NAMES = BASE_METRICS + tuple(f"{GATED_METRIC}:{m}" for m in MODULES)

#: One shared demo password per role (set after the import; printed once by ``seed_demo``).
PASSWORDS = {
    "AE": "demo-ae-2026",
    "CSM": "demo-csm-2026",
    "Manager": "demo-manager-2026",
    "RevOps": "demo-revops-2026",
    "Finance": "demo-finance-2026",
}

AE_NAMES = ("Maya Patel", "Jonas Berg", "Priya Raman", "Lucas Moreau", "Hannah Okafor", "Diego Alvarez")
AE_CAPACITY = (40, 35, 45, 40, 35, 30)
CSM_NAMES = (
    "Sofia Lindqvist",
    "Marcus Chen",
    "Amara Nwosu",
    "Tom Becker",
    "Elena Rossi",
    "Kenji Watanabe",
    "Grace O'Neill",
    "Samir Haddad",
)
CSM_CAPACITY = (25, 30, 35, 40, 28, 32, 38, 30)
MANAGER = ("manager", "Olivia Hart", "Manager")
REVOPS = ("revops", "Daniel Kim", "RevOps")
FINANCE = ("finance", "Rachel Stein", "Finance")

NAME_PREFIXES = (
    "Northwind",
    "Bluefin",
    "Silverline",
    "Redwood",
    "Ironbridge",
    "Brightpath",
    "Cobalt",
    "Evergreen",
    "Harborview",
    "Summit",
    "Lumen",
    "Granite",
    "Pinecrest",
    "Stonegate",
    "Clearwater",
    "Foxglove",
    "Kestrel",
    "Meridian",
    "Oakridge",
    "Quayside",
    "Riverstone",
    "Sagebrush",
    "Tidewater",
    "Westfield",
    "Amberly",
    "Copperleaf",
    "Driftwood",
    "Falconer",
    "Highland",
    "Juniper",
    "Larkspur",
    "Maplewood",
    "Nimbus",
    "Orchard",
    "Polaris",
    "Saltmarsh",
    "Thornbury",
    "Vantage",
    "Wildrose",
    "Zephyr",
)
NAME_NOUNS = (
    "Logistics",
    "Health",
    "Analytics",
    "Robotics",
    "Foods",
    "Capital",
    "Energy",
    "Labs",
    "Retail",
    "Media",
    "Insurance",
    "Freight",
    "Software",
    "Biotech",
    "Learning",
    "Hospitality",
    "Manufacturing",
    "Pharma",
    "Telecom",
    "Realty",
    "Outdoors",
    "Dental",
    "Mobility",
    "Security",
    "Payments",
    "Studios",
    "Engineering",
    "Partners",
    "Systems",
    "Consulting",
)

# Account mix by segment (SMB, MidMarket, Enterprise) and plan tier probabilities per segment.
SEGMENT_P = (0.55, 0.30, 0.15)
TIER_P = np.array(
    [
        [0.45, 0.38, 0.17, 0.00],
        [0.08, 0.40, 0.42, 0.10],
        [0.00, 0.08, 0.42, 0.50],
    ]
)
ARR_MEDIAN = np.array([13_000.0, 55_000.0, 220_000.0])
ARR_SIGMA = np.array([0.35, 0.35, 0.40])
ARR_RANGE = np.array([[6_000.0, 30_000.0], [25_000.0, 120_000.0], [100_000.0, 600_000.0]])
TIER_ARR_FACTOR = np.array([0.85, 1.0, 1.12, 1.25])
SEATS_MEDIAN = np.array([18.0, 110.0, 650.0])
SEATS_RANGE = np.array([[5, 60], [40, 400], [250, 3000]])
API_LIMIT = np.array([100_000, 500_000, 2_000_000, 10_000_000])
MODULE_P_BY_TIER = np.array([0.05, 0.20, 0.35, 0.55])
EXPORT_MEDIAN = np.array([5_000.0, 40_000.0, 250_000.0])

HIGH_PROPENSITY_P = 0.21
# Expansion drivers of high-propensity accounts: seats, api, team, module, automation.
DRIVERS = ("seats", "api", "team", "module", "automation")
DRIVER_P = np.array([0.70, 0.45, 0.45, 0.55, 0.40])
DRIVER_TYPE = ("seats", "tier", "seats", "module", "tier")
EXPANSION_TYPES = ("seats", "tier", "module")
UPLIFT_RANGE = {"seats": (0.18, 0.25), "tier": (0.30, 0.40), "module": (0.20, 0.30)}
#: Share of accounts with a commercial conversation in the last 365 days.
TOUCH_P_HIGH = 0.30
TOUCH_P_OTHER = 0.38
WIN_P_HIGH = 0.72
WIN_P_OTHER = 0.18
#: Uplifts calibrate from 10 won deals of a type; lost deals of high-propensity accounts are turned
#: into wins until each type has this many (when there are enough).
MIN_WON_PER_TYPE = 12

FILE_COLUMNS = {
    "users.csv": ("email", "name", "role", "manager_email", "capacity"),
    "accounts.csv": (
        "account_id",
        "name",
        "segment",
        "plan_tier",
        "contract_arr",
        "customer_since",
        "renewal_date",
        "seats_licensed",
        "api_limit_30d",
        "owned_modules",
        "health_score",
        "status",
        "ae_email",
        "csm_email",
    ),
    "usage.csv": ("account_id", "date", "metric", "value"),
    "events.csv": ("event_id", "account_id", "occurred_at", "event", "properties"),
    "activities.csv": ("activity_id", "account_id", "occurred_at", "type", "actor_email", "commercial"),
    "expansions.csv": (
        "opportunity_id",
        "account_id",
        "created_date",
        "closed_date",
        "status",
        "expansion_arr",
        "expansion_type",
        "contract_arr_at_close",
    ),
}


#: Optional contract columns written when a preset's demo data has them.
OPTIONAL_COLUMNS = {"accounts.csv": ("timezone", "admin_email")}


@dataclass
class DemoExport:
    """The generated export: one frame per CSV (columns exactly as in the contract, as text-ready values)."""

    seed: int
    as_of: dt.date
    users: pd.DataFrame
    accounts: pd.DataFrame
    usage: pd.DataFrame
    activities: pd.DataFrame
    expansions: pd.DataFrame
    #: account_id -> True for high expansion propensity (never written to the CSVs).
    propensity: pd.Series = field(repr=False, default_factory=lambda: pd.Series(dtype=bool))
    #: Product events (a preset's demo data, ``expansion.demo_presets``); none in the base export.
    events: pd.DataFrame = field(
        repr=False, default_factory=lambda: pd.DataFrame(columns=list(FILE_COLUMNS["events.csv"]))
    )

    def frames(self) -> dict[str, pd.DataFrame]:
        frames = {
            "users.csv": self.users,
            "accounts.csv": self.accounts,
            "usage.csv": self.usage,
            "activities.csv": self.activities,
            "expansions.csv": self.expansions,
        }
        if len(self.events):
            frames["events.csv"] = self.events
        return frames

    @property
    def passwords(self) -> list[tuple[str, str, str]]:
        """(email, role, password) for every demo person, in users.csv order."""
        return [(r.email, r.role, PASSWORDS[r.role]) for r in self.users.itertuples(index=False)]


# --------------------------------------------------------------------------------------------------
# Generation (pure)
# --------------------------------------------------------------------------------------------------


def _email(local: str) -> str:
    return f"{local}@{DEMO_DOMAIN}"


def _users() -> pd.DataFrame:
    manager = _email(MANAGER[0])
    rows = [(manager, MANAGER[1], MANAGER[2], "", None)]
    rows += [
        (_email(f"ae{i + 1}"), n, "AE", manager, c)
        for i, (n, c) in enumerate(zip(AE_NAMES, AE_CAPACITY, strict=True))
    ]
    rows += [
        (_email(f"csm{i + 1}"), n, "CSM", manager, c)
        for i, (n, c) in enumerate(zip(CSM_NAMES, CSM_CAPACITY, strict=True))
    ]
    rows += [(_email(local), name, role, "", None) for local, name, role in (REVOPS, FINANCE)]
    frame = pd.DataFrame(rows, columns=list(FILE_COLUMNS["users.csv"]))
    frame["capacity"] = frame["capacity"].astype("Int64")
    return frame


def _lognormal_in_range(rng, median: np.ndarray, sigma: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Lognormal around ``median``; the few draws outside [lo, hi] are redrawn uniformly inside it."""
    value = median * np.exp(rng.normal(0.0, 1.0, len(median)) * sigma)
    return np.where((value < lo) | (value > hi), rng.uniform(lo, hi), value)


def _choice_rows(rng, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probabilities`` (vectorised ``rng.choice``)."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities))[:, None]
    return np.minimum((u >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def _account_names(rng, n: int) -> np.ndarray:
    prefix = rng.integers(0, len(NAME_PREFIXES), n)
    noun = rng.integers(0, len(NAME_NOUNS), n)
    base = pd.Series(np.asarray(NAME_PREFIXES, dtype=object)[prefix] + " " + np.asarray(NAME_NOUNS)[noun])
    ordinal = base.groupby(base).cumcount().to_numpy()
    suffix = np.where(ordinal > 0, " " + (ordinal + 1).astype(str).astype(object), "")
    return (base.to_numpy() + suffix).astype(object)


@dataclass
class _Latent:
    """Per-account arrays the usage and history are drawn from (index = account position)."""

    n: int
    segment: np.ndarray
    tier: np.ndarray
    arr: np.ndarray
    tenure: np.ndarray
    seats: np.ndarray
    api_limit: np.ndarray
    owned: np.ndarray  # (n, modules) bool
    health: np.ndarray  # float, nan = empty
    churned: np.ndarray
    high: np.ndarray
    drivers: np.ndarray  # (n, len(DRIVERS)) bool
    engagement: np.ndarray  # 0..1 for everyone
    onset: np.ndarray  # day index (0 = first usage day) when high accounts reach their new level
    ae: np.ndarray  # index into the AE list, -1 = none
    csm: np.ndarray


def _latent(rng, n: int) -> _Latent:
    segment = rng.choice(3, size=n, p=SEGMENT_P)
    tier = _choice_rows(rng, TIER_P[segment])
    arr = _lognormal_in_range(
        rng,
        ARR_MEDIAN[segment] * TIER_ARR_FACTOR[tier],
        ARR_SIGMA[segment],
        ARR_RANGE[segment, 0],
        ARR_RANGE[segment, 1],
    )
    arr = np.round(arr, 2)
    # Tenure: most customers are older than six months; some are in their first 120 / 182 days.
    bucket = rng.random(n)
    tenure = np.where(
        bucket < 0.07,
        rng.integers(20, 120, n),
        np.where(bucket < 0.13, rng.integers(120, 182, n), rng.integers(182, 1461, n)),
    )
    seats = np.round(
        _lognormal_in_range(
            rng, SEATS_MEDIAN[segment], np.full(n, 0.45), SEATS_RANGE[segment, 0], SEATS_RANGE[segment, 1]
        )
    ).astype(np.int64)
    owned = rng.random((n, len(MODULES))) < MODULE_P_BY_TIER[tier][:, None]
    churned = rng.random(n) < 0.05
    high = (rng.random(n) < HIGH_PROPENSITY_P) & ~churned
    # Drivers: at least two per high-propensity account (so most of them can qualify); module
    # exploration needs a module the account does not own.
    drivers = (rng.random((n, len(DRIVERS))) < DRIVER_P) & high[:, None]
    drivers[:, 3] &= ~owned.all(axis=1)
    extra = rng.permuted(np.tile(np.arange(len(DRIVERS)), (n, 1)), axis=1)
    for col in range(2):
        short = high & (drivers.sum(axis=1) < 2)
        pick = extra[:, col]
        pick = np.where((pick == 3) & owned.all(axis=1), 0, pick)
        drivers[short, pick[short]] = True
    health = np.where(
        high, rng.normal(78, 10, n), np.where(churned, rng.normal(48, 12, n), rng.normal(70, 14, n))
    )
    health = np.clip(np.round(health), 30, 100)
    health[rng.random(n) < 0.10] = np.nan
    engagement = np.where(churned, rng.uniform(0.0, 0.35, n), rng.beta(2.0, 2.5, n))
    engagement = np.where(high, np.maximum(engagement, rng.uniform(0.55, 1.0, n)), engagement)
    onset = rng.integers(-40, USAGE_DAYS - 11, n)
    ae = rng.permutation(n) % len(AE_NAMES)
    ae[rng.random(n) < 0.03] = -1
    csm = rng.permutation(n) % len(CSM_NAMES)
    return _Latent(
        n=n,
        segment=segment,
        tier=tier,
        arr=arr,
        tenure=tenure,
        seats=seats,
        api_limit=API_LIMIT[tier],
        owned=owned,
        health=health,
        churned=churned,
        high=high,
        drivers=drivers,
        engagement=engagement,
        onset=onset,
        ae=ae,
        csm=csm,
    )


def _accounts_frame(rng, lat: _Latent, as_of: dt.date) -> pd.DataFrame:
    n = lat.n
    as_of64 = np.datetime64(as_of, "D")
    since = as_of64 - lat.tenure.astype("timedelta64[D]")
    # Renewal: the next contract anniversary after as_of (always within 12 months).
    renewal = since + ((lat.tenure // 365 + 1) * 365).astype("timedelta64[D]")
    modules = np.asarray(MODULES)
    owned_text = [";".join(modules[row]) for row in lat.owned]
    ae_emails = np.array([""] + [_email(f"ae{i + 1}") for i in range(len(AE_NAMES))], dtype=object)
    csm_emails = np.array([_email(f"csm{i + 1}") for i in range(len(CSM_NAMES))], dtype=object)
    frame = pd.DataFrame(
        {
            "account_id": [f"ACC-{i:05d}" for i in range(1, n + 1)],
            "name": _account_names(rng, n),
            "segment": np.asarray(SEGMENTS, dtype=object)[lat.segment],
            "plan_tier": np.asarray(TIERS, dtype=object)[lat.tier],
            "contract_arr": np.char.mod("%.2f", lat.arr).astype(object),
            "customer_since": np.datetime_as_string(since, unit="D").astype(object),
            "renewal_date": np.datetime_as_string(renewal, unit="D").astype(object),
            "seats_licensed": lat.seats,
            "api_limit_30d": lat.api_limit,
            "owned_modules": owned_text,
            "health_score": pd.array(lat.health, dtype="Float64").astype("Int64"),
            "status": np.where(lat.churned, "churned", "active").astype(object),
            "ae_email": ae_emails[lat.ae + 1],
            "csm_email": csm_emails[lat.csm],
        }
    )
    return frame


def _ramp(onset: np.ndarray, length: np.ndarray, days: np.ndarray) -> np.ndarray:
    """0 before ``onset - length``, rising linearly to 1 at ``onset`` (one row per account)."""
    return np.clip((days[None, :] - (onset - length)[:, None]) / length[:, None], 0.0, 1.0)


def _usage_matrices(rng, lat: _Latent) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Return ``{metric: (n, days) int64}``, the explored module per slot ``(n, 2)`` (-1 = none),
    and the matching gated views ``(n, 2, days)``."""
    n, days = lat.n, USAGE_DAYS
    t = np.arange(days, dtype=float)
    eng = lat.engagement[:, None]
    drv = {name: lat.drivers[:, i] for i, name in enumerate(DRIVERS)}

    # Seat utilisation: drivers ramp past 0.9 and stay; a few accounts oscillate around 0.9.
    base = np.clip(0.30 + 0.55 * eng + rng.normal(0, 0.05, (n, 1)), 0.08, 0.86)
    drift = rng.normal(0, 0.03, (n, 1)) * t[None, :] / days
    util = np.clip(base + drift + rng.normal(0, 0.012, (n, days)), 0.02, 0.88)
    ramp_len = rng.integers(8, 26, n).astype(float)
    seat_ramp = _ramp(lat.onset.astype(float), ramp_len, t)
    u0, u1 = rng.uniform(0.68, 0.84, n)[:, None], rng.uniform(0.93, 1.0, n)[:, None]
    ramped = u0 + (u1 - u0) * seat_ramp + rng.normal(0, 0.006, (n, days))
    util = np.where(drv["seats"][:, None], ramped, util)
    oscillating = ~lat.high & ~lat.churned & (lat.seats >= 20) & (rng.random(n) < 0.05)
    period = rng.integers(4, 9, n)[:, None]
    phase = rng.integers(0, 8, n)[:, None]
    wave = 0.9 + 0.03 * np.sin(2 * np.pi * (t[None, :] + phase) / period) + rng.normal(0, 0.004, (n, days))
    util = np.where(oscillating[:, None], wave, util)
    seats_active = np.round(util * lat.seats[:, None])
    full = np.ceil(0.9 * lat.seats)[:, None]
    seats_active = np.where(
        drv["seats"][:, None] & (seat_ramp >= 1.0), np.maximum(seats_active, full), seats_active
    )

    # API consumption relative to the plan limit.
    api_onset = np.clip(lat.onset + rng.integers(-10, 9, n), -40, days - 3).astype(float)
    api_ramp = _ramp(api_onset, rng.integers(10, 31, n).astype(float), t)
    a0, a1 = rng.uniform(0.45, 0.70, n)[:, None], rng.uniform(0.88, 1.05, n)[:, None]
    api_ratio = np.where(
        drv["api"][:, None],
        (a0 + (a1 - a0) * api_ramp) * rng.normal(1.0, 0.01, (n, days)),
        np.clip(
            (0.05 + 0.6 * eng * rng.uniform(0.3, 1.0, (n, 1))) * rng.normal(1.0, 0.04, (n, days)), 0.01, 0.82
        ),
    )
    api_calls = np.round(np.maximum(api_ratio, 0) * lat.api_limit[:, None])

    # Feature breadth (of ~40 features): grows slowly; high-propensity accounts use far more.
    f_base = np.where(
        lat.high, rng.integers(18, 30, n), 3 + np.round(17 * lat.engagement) + rng.integers(-2, 3, n)
    )
    growth = rng.integers(0, 4, n)[:, None] * t[None, :] / days
    features = np.clip(np.floor(f_base[:, None] + growth + 3 * seat_ramp * lat.high[:, None]), 1, 40)

    # Automation workflows: drivers grow past 20.
    auto_onset = np.clip(lat.onset + rng.integers(-15, 9, n), -40, days - 3).astype(float)
    auto_ramp = _ramp(auto_onset, rng.integers(20, 50, n).astype(float), t)
    w0 = np.where(lat.high, rng.integers(8, 17, n), np.round(14 * lat.engagement**1.5))[:, None]
    w1 = rng.integers(21, 37, n)[:, None]
    automation = np.where(
        drv["automation"][:, None],
        np.floor(w0 + (w1 - w0) * auto_ramp),
        np.floor(w0 + rng.integers(0, 3, n)[:, None] * t[None, :] / days),
    )

    # Departments: drivers add 1-3 departments in the last 30 days; a few others change by one.
    d_lo = np.array([1, 2, 4])[lat.segment]
    d_hi = np.array([4, 7, 13])[lat.segment]
    d0 = rng.integers(d_lo, d_hi)[:, None]
    step_day = np.where(drv["team"], rng.integers(days - 30, days - 2, n), rng.integers(1, days, n))[:, None]
    step = np.where(drv["team"], rng.integers(1, 4, n), 0)
    r = rng.random(n)
    step = np.where(~drv["team"] & (r < 0.04), 1, np.where(~drv["team"] & (r > 0.97), -1, step))
    departments = np.maximum(d0 + step[:, None] * (t[None, :] >= step_day), 1)

    # Export volume: flat with noise; ~6% surge to 3.5-7x over the last weeks (the watch signal).
    e_base = EXPORT_MEDIAN[lat.segment] * np.exp(rng.normal(0, 0.6, n))
    surge = (rng.random(n) < np.where(np.nan_to_num(lat.health, nan=70) < 60, 0.12, 0.05)) & ~lat.churned
    surge_ramp = _ramp(
        np.full(n, days - 1.0) - rng.integers(0, 5, n), rng.integers(10, 41, n).astype(float), t
    )
    factor = 1.0 + (rng.uniform(3.5, 7.0, n)[:, None] - 1.0) * surge_ramp * surge[:, None]
    exports = np.round(e_base[:, None] * factor * rng.normal(1.0, 0.08, (n, days)).clip(0.5, 1.5))

    # Gated feature views (rolling 14 days) for 1-2 modules the account does not own.
    keys = rng.random((n, len(MODULES)))
    keys[lat.owned] = np.inf
    order = np.argsort(keys, axis=1)
    unowned = (~lat.owned).sum(axis=1)
    want = np.minimum(rng.integers(1, 3, n), unowned)
    slots = np.where(np.arange(2)[None, :] < want[:, None], order[:, :2], -1)
    span = days + 13
    ext_t = np.arange(-13, days, dtype=float)
    mod_onset = np.clip(lat.onset + rng.integers(-10, 11, n), -40, days - 5).astype(float)
    mod_ramp = _ramp(mod_onset, rng.integers(10, 31, n).astype(float), ext_t)
    quiet = rng.uniform(0.003, 0.07, (n, 2, 1))
    rate = np.broadcast_to(quiet, (n, 2, span)).copy()
    peak = rng.uniform(0.6, 1.4, n)[:, None]
    rate[:, 0, :] = np.where(drv["module"][:, None], 0.03 + (peak - 0.03) * mod_ramp, rate[:, 0, :])
    daily = rng.poisson(rate)
    cum = np.concatenate([np.zeros((n, 2, 1), dtype=np.int64), np.cumsum(daily, axis=2)], axis=2)
    views = cum[:, :, 14:] - cum[:, :, :-14]

    metrics = {
        "seats_active": seats_active,
        "api_calls_30d": api_calls,
        "features_used": features,
        "automation_workflows": automation,
        "departments_active": departments,
        "export_rows_30d": exports,
    }
    metrics = {k: np.maximum(v, 0).astype(np.int64) for k, v in metrics.items()}
    return metrics, slots, views.astype(np.int64)


def _usage_frame(rng, lat: _Latent, account_ids: np.ndarray, as_of: dt.date) -> pd.DataFrame:
    days = USAGE_DAYS
    metrics, slots, views = _usage_matrices(rng, lat)
    t = np.arange(days)
    # An account reports from its first day as a customer; a churned one stops on its churn day.
    first = np.maximum(days - 1 - lat.tenure, 0)
    last = np.where(lat.churned, rng.integers(days - 60, days, lat.n), days - 1)
    valid = (t[None, :] >= first[:, None]) & (t[None, :] <= last[:, None])
    a_idx, t_idx = np.nonzero(valid)
    parts_a, parts_t, parts_code, parts_value = [], [], [], []
    for code, name in enumerate(BASE_METRICS):
        parts_a.append(a_idx)
        parts_t.append(t_idx)
        parts_code.append(np.full(len(a_idx), code))
        parts_value.append(metrics[name][a_idx, t_idx])
    for slot in range(2):
        module = slots[a_idx, slot]
        keep = module >= 0
        parts_a.append(a_idx[keep])
        parts_t.append(t_idx[keep])
        parts_code.append(len(BASE_METRICS) + module[keep])
        parts_value.append(views[a_idx[keep], slot, t_idx[keep]])
    acc = np.concatenate(parts_a)
    day = np.concatenate(parts_t)
    code = np.concatenate(parts_code)
    value = np.concatenate(parts_value)
    order = np.lexsort((code, day, acc))
    start = np.datetime64(as_of, "D") - np.timedelta64(days - 1, "D")
    date_text = np.datetime_as_string(start + np.arange(days).astype("timedelta64[D]"), unit="D").astype(
        object
    )
    return pd.DataFrame(
        {
            "account_id": account_ids[acc[order]],
            "date": date_text[day[order]],
            "metric": np.asarray(METRIC_NAMES, dtype=object)[code[order]],
            "value": value[order],
        }
    )


@dataclass
class _Opps:
    account: np.ndarray
    created_ago: np.ndarray
    closed_ago: np.ndarray  # -1 = still open
    status: np.ndarray
    kind: np.ndarray  # index into EXPANSION_TYPES
    touched: np.ndarray  # per account


def _opportunities(rng, lat: _Latent) -> _Opps:
    n = lat.n
    touched = np.where(lat.high, rng.random(n) < TOUCH_P_HIGH, rng.random(n) < TOUCH_P_OTHER)
    # At least 60 days of tenure before a deal; high-propensity touched accounts usually have one
    # (sometimes two), other touched accounts rarely.
    can_deal = touched & (lat.tenure >= 90)
    first = np.where(lat.high, rng.random(n) < 0.9, rng.random(n) < 0.28)
    second = lat.high & (rng.random(n) < 0.5)
    count = (can_deal & first).astype(int) + (can_deal & first & second).astype(int)
    account = np.repeat(np.arange(n), count)
    ordinal = np.arange(len(account)) - np.repeat(np.cumsum(count) - count, count)
    high = lat.high[account]
    latest = np.minimum(360, lat.tenure[account] - 60)
    anywhere = rng.integers(20, latest + 1)
    # The first deal of a high-propensity account follows its usage onset when that is recent.
    since_onset = USAGE_DAYS - 1 - lat.onset[account]
    follows_usage = high & (ordinal == 0) & (lat.onset[account] >= 0)
    created_ago = np.where(
        follows_usage, np.maximum(since_onset - rng.integers(3, 30, len(account)), 1), anywhere
    )
    created_ago = np.minimum(created_ago, latest)
    duration = np.where(follows_usage, rng.integers(10, 46, len(account)), rng.integers(14, 81, len(account)))
    closed_ago = created_ago - duration
    won = rng.random(len(account)) < np.where(high, WIN_P_HIGH, WIN_P_OTHER)
    status = np.where(closed_ago < 0, "open", np.where(won, "won", "lost"))
    closed_ago = np.where(closed_ago < 0, -1, closed_ago)
    # Type follows what the usage points at: the account's drivers, else a general mix.
    points_at = np.zeros((len(account), len(EXPANSION_TYPES)), dtype=bool)
    for i, expansion_type in enumerate(DRIVER_TYPE):
        points_at[:, EXPANSION_TYPES.index(expansion_type)] |= lat.drivers[account, i]
    driven = np.argmax(np.where(points_at, rng.random(points_at.shape), -1.0), axis=1)
    general = rng.choice(3, size=len(account), p=(0.40, 0.30, 0.30))
    general = np.where((general == 2) & lat.owned[account].all(axis=1), 0, general)
    kind = np.where(lat.drivers[account].any(axis=1), driven, general)
    for k in range(len(EXPANSION_TYPES)):
        missing = MIN_WON_PER_TYPE - int(((kind == k) & (status == "won")).sum())
        lost = np.flatnonzero((kind == k) & (status == "lost") & high)
        status[lost[: max(missing, 0)]] = "won"
    return _Opps(account, created_ago, closed_ago, status, kind, touched)


def _expansions_frame(
    rng, lat: _Latent, opps: _Opps, account_ids: np.ndarray, as_of: dt.date
) -> pd.DataFrame:
    m = len(opps.account)
    lo = np.array([UPLIFT_RANGE[t][0] for t in EXPANSION_TYPES])[opps.kind]
    hi = np.array([UPLIFT_RANGE[t][1] for t in EXPANSION_TYPES])[opps.kind]
    fraction = rng.uniform(lo, hi)
    at_close = np.round(lat.arr[opps.account] * rng.uniform(0.92, 1.0, m), 2)
    amount = np.round(at_close * fraction, 2)
    as_of64 = np.datetime64(as_of, "D")
    created = np.datetime_as_string(as_of64 - opps.created_ago.astype("timedelta64[D]"), unit="D")
    closed = np.datetime_as_string(
        as_of64 - np.maximum(opps.closed_ago, 0).astype("timedelta64[D]"), unit="D"
    )
    closed = np.where(opps.closed_ago < 0, "", closed)
    order = np.lexsort((opps.account, -opps.created_ago))
    frame = pd.DataFrame(
        {
            "opportunity_id": [f"OPP-{i:06d}" for i in range(1, m + 1)],
            "account_id": account_ids[opps.account[order]],
            "created_date": created[order].astype(object),
            "closed_date": closed[order].astype(object),
            "status": opps.status[order].astype(object),
            "expansion_arr": np.char.mod("%.2f", amount[order]).astype(object),
            "expansion_type": np.asarray(EXPANSION_TYPES, dtype=object)[opps.kind[order]],
            "contract_arr_at_close": np.char.mod("%.2f", at_close[order]).astype(object),
        }
    )
    return frame


def _activities_frame(
    rng, lat: _Latent, opps: _Opps, account_ids: np.ndarray, as_of: dt.date
) -> pd.DataFrame:
    n = lat.n
    types = np.array(["call", "email", "meeting", "proposal", "qbr", "note"])
    CALL, EMAIL, MEETING, PROPOSAL, QBR, NOTE = range(6)
    acc, ago, kind, by_ae, commercial = [], [], [], [], []

    def add(a, days_ago, k, ae_actor, is_commercial):
        acc.append(np.asarray(a))
        ago.append(np.asarray(days_ago))
        kind.append(np.broadcast_to(k, len(acc[-1])))
        by_ae.append(np.broadcast_to(ae_actor, len(acc[-1])))
        commercial.append(np.broadcast_to(is_commercial, len(acc[-1])))

    # 1. Deal conversations: a discovery call or meeting, a follow-up email, and a proposal.
    a = opps.account
    m = len(a)
    add(a, opps.created_ago + rng.integers(0, 6, m), np.where(rng.random(m) < 0.6, CALL, MEETING), True, True)
    add(a, np.maximum(opps.created_ago - rng.integers(1, 8, m), 0), EMAIL, True, True)
    proposal_ago = opps.created_ago - rng.integers(5, 21, m)
    has_proposal = (proposal_ago >= 0) & ((opps.status != "lost") | (rng.random(m) < 0.6))
    proposal_ago = np.maximum(proposal_ago, opps.closed_ago + 1)  # before a closed deal closed
    add(a[has_proposal], proposal_ago[has_proposal], PROPOSAL, True, True)

    # 2. Touched accounts without a deal: renewal and check-in conversations in the last year.
    dealless = opps.touched & ~np.isin(np.arange(n), a)
    count = np.where(dealless, 1 + rng.poisson(1.2, n), 0)
    a = np.repeat(np.arange(n), count)
    k = rng.choice([CALL, EMAIL, MEETING], size=len(a), p=(0.3, 0.5, 0.2))
    add(a, rng.integers(1, 365, len(a)), k, rng.random(len(a)) < 0.8, True)

    # 3. Some untouched accounts last talked commercially more than a year ago.
    old = ~opps.touched & (rng.random(n) < 0.15)
    a = np.flatnonzero(old)
    add(a, rng.integers(366, HISTORY_DAYS + 1, len(a)), rng.choice([CALL, EMAIL], size=len(a)), True, True)

    # 4. Customer success work everyone gets: notes, QBRs (quarterly for larger accounts), support
    #    calls and check-in emails -- none of it commercial.
    count = rng.poisson(np.array([2.0, 3.5, 5.0])[lat.segment])
    a = np.repeat(np.arange(n), count)
    add(a, rng.integers(0, HISTORY_DAYS + 1, len(a)), NOTE, False, False)
    quarterly = lat.segment > 0
    qbr_count = np.where(quarterly, 4, (rng.random(n) < 0.3).astype(int))
    a = np.repeat(np.arange(n), qbr_count)
    nth = np.arange(len(a)) - np.repeat(np.cumsum(qbr_count) - qbr_count, qbr_count)
    offset = np.repeat(rng.integers(5, 91, n), qbr_count)
    add(a, offset + 91 * nth + rng.integers(-5, 6, len(a)), QBR, False, False)
    count = rng.poisson(0.5, n)
    a = np.repeat(np.arange(n), count)
    k = rng.choice([CALL, EMAIL], size=len(a), p=(0.35, 0.65))
    add(a, rng.integers(0, HISTORY_DAYS + 1, len(a)), k, False, False)

    acc_a = np.concatenate(acc)
    ago_a = np.concatenate(ago)
    kind_a = np.concatenate(kind)
    by_ae_a = np.concatenate(by_ae)
    commercial_a = np.concatenate(commercial)
    keep = (ago_a >= 0) & (ago_a <= np.minimum(lat.tenure[acc_a], HISTORY_DAYS))
    acc_a, ago_a, kind_a, by_ae_a, commercial_a = (
        x[keep] for x in (acc_a, ago_a, kind_a, by_ae_a, commercial_a)
    )
    minutes = rng.integers(8 * 60, 18 * 60, len(acc_a)) // 5 * 5
    when = (
        np.datetime64(as_of, "m")
        - (ago_a * 24 * 60).astype("timedelta64[m]")
        + minutes.astype("timedelta64[m]")
    )
    order = np.lexsort((kind_a, acc_a, when))
    ae_emails = np.array([""] + [_email(f"ae{i + 1}") for i in range(len(AE_NAMES))], dtype=object)
    csm_emails = np.array([_email(f"csm{i + 1}") for i in range(len(CSM_NAMES))], dtype=object)
    ae_of = ae_emails[lat.ae[acc_a] + 1]
    actor = np.where(by_ae_a & (ae_of != ""), ae_of, csm_emails[lat.csm[acc_a]])
    stamp = np.char.add(np.datetime_as_string(when, unit="s"), "Z")
    return pd.DataFrame(
        {
            "activity_id": [f"ACT-{i:07d}" for i in range(1, len(order) + 1)],
            "account_id": account_ids[acc_a[order]],
            "occurred_at": stamp[order].astype(object),
            "type": types[kind_a[order]].astype(object),
            "actor_email": actor[order],
            "commercial": np.where(commercial_a[order], "true", "false").astype(object),
        }
    )


def generate(*, seed: int = DEFAULT_SEED, accounts: int = DEFAULT_ACCOUNTS, as_of: dt.date) -> DemoExport:
    """Build the whole demo export in memory. Same ``seed`` and ``as_of`` -> the same frames."""
    if accounts < 1:
        raise ValueError("accounts must be at least 1")
    rng = np.random.default_rng(seed)
    lat = _latent(rng, accounts)
    account_frame = _accounts_frame(rng, lat, as_of)
    account_ids = account_frame["account_id"].to_numpy()
    usage = _usage_frame(rng, lat, account_ids, as_of)
    opps = _opportunities(rng, lat)
    expansions = _expansions_frame(rng, lat, opps, account_ids, as_of)
    activities = _activities_frame(rng, lat, opps, account_ids, as_of)
    return DemoExport(
        seed=seed,
        as_of=as_of,
        users=_users(),
        accounts=account_frame,
        usage=usage,
        activities=activities,
        expansions=expansions,
        propensity=pd.Series(
            lat.high, index=pd.Index(account_ids, name="account_id"), name="high_propensity"
        ),
    )


def write_export(export: DemoExport, directory: Path) -> dict[str, Path]:
    """Write the export's CSVs (the five files, and events.csv when it has events; UTF-8, header row,
    ``\\n`` line ends) into ``directory``; return their paths. A stale events.csv is removed."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if "events.csv" not in export.frames():
        (directory / "events.csv").unlink(missing_ok=True)
    paths = {}
    for name, frame in export.frames().items():
        path = directory / name
        columns = list(FILE_COLUMNS[name]) + [c for c in OPTIONAL_COLUMNS.get(name, ()) if c in frame]
        frame.to_csv(path, index=False, columns=columns, lineterminator="\n", encoding="utf-8")
        paths[name] = path
    return paths


# --------------------------------------------------------------------------------------------------
# Seeding the database (Django)
# --------------------------------------------------------------------------------------------------
