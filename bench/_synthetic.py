"""A synthetic customer base for the scoring benchmark: people, accounts and daily usage, built with numpy.

``make_base`` draws the accounts (with a usage *profile* each); ``usage_block`` draws the daily values of
a block of accounts; ``load`` writes everything into the configured database with bulk SQL (COPY on
PostgreSQL, executemany on SQLite) with the snapshot table's secondary indexes and foreign keys
dropped during the load and rebuilt afterwards.

Profiles (share of accounts), with the default configuration (seats 40, API 35, module 25, automation 20,
team spread 20 points; threshold 60) and before the gates remove some of them:

- ``seats_api``   7.0%  seats >= 0.92 of licensed every day + API >= 0.86 of the limit      -> 75, qualifies
- ``seats_auto``  5.0%  seats >= 0.92 every day + 20..40 automation workflows              -> 60, qualifies
- ``module``      3.0%  analytics gated views >= 3 + automation + departments grew        -> 65, qualifies
                        (accounts that already own analytics do not)
- ``oscillating`` 5.0%  seats >= 0.92 except one dip in the last 7 days, API hot           -> 35, does not
- ``near``        5.0%  API at 0.80-0.849 and seats at 0.85-0.89                           -> 0
- ``quiet``      75.0%  everything well under its threshold

Gates: 3% churned, 5% tenure under 120 days, ~9% health under 60, 10% health empty, ~25% under 20,000
ARR (self-serve), so roughly 10% of accounts end up with an EQL.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from expansion.demo import BASE_METRICS, GATED_METRIC

#: The demo's usage metrics and one gated module's page views (``usage_block`` writes each of them).
METRICS = (*BASE_METRICS, f"{GATED_METRIC}:analytics")
MODULES = ("analytics", "sso", "reports", "audit")
PROFILES = ("seats_api", "seats_auto", "module", "oscillating", "near", "quiet")
PROFILE_P = (0.07, 0.05, 0.03, 0.05, 0.05, 0.75)
SEGMENTS = ("SMB", "MidMarket", "Enterprise")
TIERS = ("Starter", "Professional", "Business", "Enterprise")
N_AES = 40
N_CSMS = 60
SNAPSHOT_TABLE = "expansion_usagesnapshot"


@dataclass
class Base:
    as_of: dt.date
    days: int
    users: pd.DataFrame  # email, name, role, capacity
    accounts: pd.DataFrame  # contract columns (owned_modules as a list) + profile (code into PROFILES)
    seed: int


def make_base(n_accounts: int, as_of: dt.date, days: int, seed: int = 7) -> Base:
    rng = np.random.default_rng(seed)
    users = pd.DataFrame(
        {
            "email": [f"ae{i:03d}@bench.test" for i in range(N_AES)]
            + [f"csm{i:03d}@bench.test" for i in range(N_CSMS)],
            "role": ["AE"] * N_AES + ["CSM"] * N_CSMS,
        }
    )
    users["name"] = users["email"].str.split("@").str[0]
    users["capacity"] = None

    n = n_accounts
    tenure = np.where(rng.random(n) < 0.05, rng.integers(10, 120, n), rng.integers(120, 2500, n))
    health = rng.integers(40, 101, n).astype(float)
    health[rng.random(n) < 0.10] = np.nan
    owned = rng.random((n, len(MODULES))) < 0.25
    accounts = pd.DataFrame(
        {
            "account_id": [f"B{i:07d}" for i in range(n)],
            "name": [f"Bench customer {i}" for i in range(n)],
            "segment": rng.choice(SEGMENTS, n, p=(0.5, 0.35, 0.15)),
            "plan_tier": rng.choice(TIERS, n, p=(0.3, 0.35, 0.25, 0.1)),
            "contract_arr": np.round(np.exp(rng.normal(10.6, 0.8, n)), 2).clip(1_000, 5_000_000),
            "customer_since": pd.to_datetime(as_of) - pd.to_timedelta(tenure, unit="D"),
            "seats_licensed": rng.integers(10, 500, n),
            "api_limit_30d": rng.choice([50_000, 100_000, 250_000, 1_000_000], n),
            "owned_modules": [
                [m for m, has in zip(MODULES, row, strict=True) if has] for row in owned.tolist()
            ],
            "health_score": health,
            "status": np.where(rng.random(n) < 0.03, "churned", "active"),
            "ae_email": users["email"].iloc[rng.integers(0, N_AES, n)].to_numpy(),
            "csm_email": users["email"].iloc[N_AES + rng.integers(0, N_CSMS, n)].to_numpy(),
            "profile": rng.choice(len(PROFILES), n, p=PROFILE_P),
        }
    )
    return Base(as_of=as_of, days=days, users=users, accounts=accounts, seed=seed)


def usage_block(base: Base, lo: int, hi: int) -> dict[str, np.ndarray]:
    """Daily values of accounts[lo:hi]: metric -> (accounts, days) float array, column -1 = as_of."""
    rng = np.random.default_rng([base.seed, lo])
    acc = base.accounts.iloc[lo:hi]
    n, d = len(acc), base.days
    profile = acc["profile"].to_numpy()
    is_ = {name: profile == k for k, name in enumerate(PROFILES)}
    seats = acc["seats_licensed"].to_numpy(dtype=float)[:, None]
    limit = acc["api_limit_30d"].to_numpy(dtype=float)[:, None]

    # Seats: quiet 20-85%; hot >= 92% every day; oscillating hot with one dip in the last 7 days.
    share = rng.uniform(0.20, 0.85, (n, d))
    hot_seats = is_["seats_api"] | is_["seats_auto"] | is_["oscillating"]
    share[hot_seats] = rng.uniform(0.92, 1.0, (int(hot_seats.sum()), d))
    share[is_["near"]] = rng.uniform(0.85, 0.89, (int(is_["near"].sum()), d))
    dip_rows = np.flatnonzero(is_["oscillating"])
    share[dip_rows, d - 1 - rng.integers(0, 7, len(dip_rows))] = 0.6
    seats_active = np.minimum(np.ceil(seats * share), seats)
    seats_active[is_["near"]] = np.floor(seats * share)[is_["near"]]

    # API: quiet 5-70% of the limit; hot 86-99%; near 80-84.9%.
    api = rng.uniform(0.05, 0.70, (n, d))
    hot_api = is_["seats_api"] | is_["oscillating"]
    api[hot_api] = rng.uniform(0.86, 0.99, (int(hot_api.sum()), d))
    api[is_["near"]] = rng.uniform(0.80, 0.849, (int(is_["near"].sum()), d))
    api_calls = np.floor(limit * api)

    automation = rng.integers(0, 15, (n, 1)) + np.zeros((1, d))
    deep = is_["seats_auto"] | is_["module"]
    automation[deep] = rng.integers(20, 40, (int(deep.sum()), 1))

    departments = rng.integers(1, 6, (n, 1)) + np.zeros((1, d))
    grew = np.flatnonzero(is_["module"])
    departments[grew, -30:] += rng.integers(1, 3, (len(grew), 1))

    views = rng.integers(0, 3, (n, d)).astype(float)
    views[is_["module"]] = rng.integers(3, 15, (int(is_["module"].sum()), d))

    return {
        "seats_active": seats_active,
        "api_calls_30d": api_calls,
        "features_used": rng.integers(1, 20, (n, d)).astype(float),
        "automation_workflows": automation,
        "departments_active": departments,
        "export_rows_30d": np.round(rng.uniform(100, 5_000, (n, 1)) * rng.uniform(0.9, 1.1, (n, d))),
        "gated_feature_views_14d:analytics": views,
    }


def _long_rows(
    base: Base, lo: int, hi: int, account_pks: np.ndarray, metric_ids: dict[str, int]
) -> pd.DataFrame:
    """Rows (account_id, metric_id, date, value) of a block, sorted like the unique index."""
    values = usage_block(base, lo, hi)
    n, d = hi - lo, base.days
    dates = pd.date_range(end=pd.Timestamp(base.as_of), periods=d, freq="D").strftime("%Y-%m-%d").to_numpy()
    metric_order = sorted(METRICS, key=lambda m: metric_ids[m])
    stacked = np.stack([values[m] for m in metric_order], axis=1)  # (accounts, metrics, days)
    return pd.DataFrame(
        {
            "account_id": np.repeat(account_pks[lo:hi], len(METRICS) * d),
            "metric_id": np.tile(np.repeat([metric_ids[m] for m in metric_order], d), n),
            "date": np.tile(dates, n * len(METRICS)),
            "value": stacked.reshape(-1),
        }
    )


def people_and_accounts_write(base: Base, *, ae_capacity: int | None = None) -> None:
    """Bulk-write the base's users (AEs with ``ae_capacity`` when given) and accounts."""
    from expansion.models import Account, User

    User.objects.bulk_create(
        [
            User(
                username=r.email,
                email=r.email,
                name=r.name,
                role=r.role,
                capacity=ae_capacity if r.role == "AE" else None,
            )
            for r in base.users.itertuples()
        ]
    )
    user_pk = dict(User.objects.values_list("email", "pk"))
    Account.objects.bulk_create(
        [
            Account(
                account_id=r.account_id,
                name=r.name,
                segment=r.segment,
                plan_tier=r.plan_tier,
                contract_arr=round(float(r.contract_arr), 2),
                customer_since=r.customer_since.date(),
                seats_licensed=int(r.seats_licensed),
                api_limit_30d=int(r.api_limit_30d),
                owned_modules=r.owned_modules,
                health_score=None if np.isnan(r.health_score) else int(r.health_score),
                status=r.status,
                ae_id=user_pk[r.ae_email],
                csm_id=user_pk[r.csm_email],
            )
            for r in base.accounts.itertuples()
        ],
        batch_size=5_000,
    )


def load(base: Base, block: int = 5_000, log=print) -> dict[str, int]:
    """Write users, accounts, metrics and snapshots; returns row counts."""
    from django.db import connection, transaction

    from expansion.models import Account, Metric
    from expansion.services import usage_changed

    people_and_accounts_write(base)
    acc = base.accounts
    pk_of = dict(Account.objects.values_list("account_id", "pk"))
    account_pks = acc["account_id"].map(pk_of).to_numpy(dtype=np.int64)
    metric_ids = {m: Metric.objects.get_or_create(name=m)[0].pk for m in METRICS}

    rows = 0
    with transaction.atomic(), connection.cursor() as cur:
        restore = _drop_secondary(cur)
        for lo in range(0, len(acc), block):
            frame = _long_rows(base, lo, min(lo + block, len(acc)), account_pks, metric_ids)
            rows += len(frame)
            if connection.vendor == "postgresql":
                buf = io.StringIO()
                frame.to_csv(buf, index=False, header=False)
                with cur.cursor.copy(
                    f"COPY {SNAPSHOT_TABLE} (account_id, metric_id, date, value) FROM STDIN WITH (FORMAT csv)"
                ) as copy:
                    copy.write(buf.getvalue())
            else:
                cur.executemany(
                    f"INSERT INTO {SNAPSHOT_TABLE} (account_id, metric_id, date, value) "
                    "VALUES (%s, %s, %s, %s)",
                    list(frame.itertuples(index=False, name=None)),
                )
            if lo // block % 4 == 3:
                log(f"  snapshots: {rows:,} rows")
        for statement in restore:
            cur.execute(statement)
        usage_changed(
            first_date=base.as_of - dt.timedelta(days=base.days - 1), last_date=base.as_of, rows=rows
        )
    # A steady-state table: on PostgreSQL autovacuum would have set the visibility map by the next
    # hourly pass (index-only scans need it); run it now instead of waiting for it.
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        autocommit = connection.connection.autocommit
        connection.connection.autocommit = True
        with connection.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {SNAPSHOT_TABLE}")
        connection.connection.autocommit = autocommit
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    return {"users": len(base.users), "accounts": len(acc), "snapshots": rows}


def _drop_secondary(cur) -> list[str]:
    """Drop the snapshot table's secondary indexes (and FKs on PostgreSQL); return statements to restore."""
    from django.db import connection

    restore: list[str] = []
    if connection.vendor == "postgresql":
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u')",
            [SNAPSHOT_TABLE],
        )
        for name, definition in cur.fetchall():
            cur.execute(f'ALTER TABLE {SNAPSHOT_TABLE} DROP CONSTRAINT "{name}"')
            restore.append(f'ALTER TABLE {SNAPSHOT_TABLE} ADD CONSTRAINT "{name}" {definition}')
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            [SNAPSHOT_TABLE, SNAPSHOT_TABLE],
        )
    else:
        cur.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND sql IS NOT NULL",
            [SNAPSHOT_TABLE],
        )
    for name, definition in cur.fetchall():
        cur.execute(f'DROP INDEX "{name}"')
        restore.append(definition)
    # Unique constraint first (it also serves the account/metric/date lookups), then the rest.
    return sorted(restore, key=lambda s: "UNIQUE" not in s)


def changed_accounts(base: Base, share: float, seed: int = 11) -> np.ndarray:
    """Row positions of a random ``share`` of the accounts (the ones whose latest usage changes)."""
    rng = np.random.default_rng(seed)
    n = len(base.accounts)
    return np.sort(rng.choice(n, max(1, int(n * share)), replace=False))
