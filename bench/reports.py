"""Report benchmarks: the coverage diagnostic on 100,000 accounts and a 12-month weekly backtest.

usage (from the project root):
    .venv/bin/python bench/reports.py [--only coverage|backtest] [--coverage-accounts 100000]
        [--backtest-accounts 20000] [--months 12] [--database-url URL] [--keep DIR] [--reuse DIR]

Each part builds its own synthetic base in a throwaway database (a temporary SQLite file unless
``--database-url`` names a PostgreSQL database, which is created and dropped) and runs in its own
process: ``DATABASE_URL`` and ``EXPANSION_VAR_DIR`` are set before ``django.setup()``, so the
product's own database is never touched. Building the base is not timed.

1. **coverage**: accounts (segment, tier, ARR, tenure, health, owners), 3 days of the four
   coverage metrics, ~1.5 commercial or other activities per touched account over 400 days and won
   expansions; times ``dashboards.selectors.coverage_for`` (all of it: the 5 queries and the pandas
   work), best of 3. Target < 5 s.
2. **backtest**: accounts as above with daily usage of the six metrics the default signals read over
   the replay period plus the signals' lookback (12 months + 100 days, ~55M rows at 20,000 accounts,
   written day by day as daily imports would), 15% of accounts turning "hot" at a random day (seats
   >= 92% plus API, automation, module views or a new department) and expansions that follow many of
   those onsets (won, open or lost) plus background deals. Times ``backtest_run`` weekly over the last
   12 months (selectors, per-step snapshot reads and the replay), then a what-if comparison of the
   saved model against ``seat_utilisation.threshold=0.95`` in lockstep. Target < 60 s.

SQLite runs the bulk inserts as ``INSERT ... SELECT`` over a profile table (no Python per row) with
the snapshot table's secondary indexes dropped and rebuilt after the load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

AS_OF = dt.date(2026, 3, 31)
TARGETS = {"coverage": 5.0, "backtest": 60.0}
LOOKBACK_DAYS = 100


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------------------------------
# Shared building blocks
# --------------------------------------------------------------------------------------------------


def setup_django(url: str, var_dir: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["EXPANSION_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expansion.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["CELERY_RESULT_BACKEND"] = "cache+memory://"
    import django

    django.setup()


def load_people_and_accounts(n_accounts: int, seed: int, ae_capacity: int | None = None):
    """Users and accounts from ``bench/_synthetic.make_base`` (bulk_create); returns (base, pks)."""
    import _synthetic
    import numpy as np

    from expansion.models import Account

    base = _synthetic.make_base(n_accounts, AS_OF, 1, seed=seed)
    _synthetic.people_and_accounts_write(base, ae_capacity=ae_capacity)
    pk_of = dict(Account.objects.values_list("account_id", "pk"))
    pks = base.accounts["account_id"].map(pk_of).to_numpy(dtype=np.int64)
    return base, pks


def metric_ids(names) -> dict[str, int]:
    """Metric ids of ``names``, each one of the bench's metrics (``_synthetic.METRICS``)."""
    import _synthetic

    from expansion.models import Metric

    unknown = sorted(set(names) - set(_synthetic.METRICS))
    if unknown:
        raise ValueError(f"not a metric of the bench data: {', '.join(unknown)}")
    return {name: Metric.objects.get_or_create(name=name)[0].pk for name in names}


def profile_table(cur, frame) -> None:
    """A scratch table ``bench_profile`` (one row per account) the INSERT ... SELECTs read."""
    columns = list(frame.columns)
    cur.execute("DROP TABLE IF EXISTS bench_profile")
    cur.execute(
        "CREATE TABLE bench_profile ("
        + ", ".join(
            f"{c} {'BIGINT PRIMARY KEY' if c == 'account_id' else 'DOUBLE PRECISION'}" for c in columns
        )
        + ")"
    )
    marks = ", ".join(["%s"] * len(columns))
    rows = [
        tuple(float(v) if i else int(v) for i, v in enumerate(row)) for row in frame.itertuples(index=False)
    ]
    cur.executemany(f"INSERT INTO bench_profile ({', '.join(columns)}) VALUES ({marks})", rows)


def rnd() -> str:
    """A uniform number in [0, 1) per row, in SQL that SQLite and PostgreSQL both run."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return "random()"
    return "(abs(random()) %% 1000000) / 1000000.0"  # %% : the query also takes parameters


def drop_secondary_snapshot_indexes(cur) -> list[str]:
    """Drop the snapshot table's indexes for a bulk load; return the statements that restore them.

    PostgreSQL: ``bench/_synthetic`` drops the constraints and indexes. SQLite cannot drop a table's
    UNIQUE constraint, so the (empty) table is recreated without it and the constraint comes back as
    the equivalent unique index after the load (same name, same columns, same lookups).
    """
    import _synthetic
    from django.db import connection

    if connection.vendor != "sqlite":
        return _synthetic._drop_secondary(cur)
    table = _synthetic.SNAPSHOT_TABLE
    cur.execute("SELECT COUNT(*) FROM " + table)
    if cur.fetchone()[0]:
        return _synthetic._drop_secondary(cur)
    restore = _synthetic._drop_secondary(cur)
    cur.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [table])
    create = cur.fetchone()[0]
    name = "snapshot_unique_account_metric_day"
    constraint = f', CONSTRAINT "{name}" UNIQUE ("account_id", "metric_id", "date")'
    if constraint not in create:
        return restore
    cur.execute(f"DROP TABLE {table}")
    cur.execute(create.replace(constraint, ""))
    unique = f'CREATE UNIQUE INDEX "{name}" ON "{table}" ("account_id", "metric_id", "date")'
    return [unique, *restore]


# --------------------------------------------------------------------------------------------------
# Coverage
# --------------------------------------------------------------------------------------------------


def build_coverage_base(n_accounts: int, seed: int) -> dict[str, int]:
    import numpy as np
    import pandas as pd
    from django.db import connection, transaction

    rng = np.random.default_rng(seed)
    base, pks = load_people_and_accounts(n_accounts, seed)
    acc = base.accounts
    profile = pd.DataFrame(
        {
            "account_id": pks,
            "seats": acc["seats_licensed"].to_numpy(dtype=float),
            "api_limit": acc["api_limit_30d"].to_numpy(dtype=float),
            "util": rng.uniform(0.2, 1.0, n_accounts),
            "api_share": rng.uniform(0.05, 0.99, n_accounts),
            "features": rng.integers(1, 30, n_accounts).astype(float),
            "workflows": rng.integers(0, 45, n_accounts).astype(float),
            "touched": (rng.random(n_accounts) < 0.35).astype(float),
        }
    )
    r = rnd()
    table = "expansion_usagesnapshot"
    expressions = {
        "features_used": f"floor(features * (0.95 + 0.1 * {r}))",
        "seats_active": f"least_or_min(seats, floor(seats * util * (0.98 + 0.04 * {r})))",
        "api_calls_30d": f"floor(api_limit * api_share * (0.97 + 0.06 * {r}))",
        "automation_workflows": "workflows",
    }
    ids = metric_ids(expressions)
    least = "LEAST" if connection.vendor == "postgresql" else "min"
    rows = 0
    with transaction.atomic(), connection.cursor() as cur:
        profile_table(cur, profile)
        restore = drop_secondary_snapshot_indexes(cur)
        for back in range(3):
            day = (AS_OF - dt.timedelta(days=back)).isoformat()
            for name, expression in expressions.items():
                cur.execute(
                    f"INSERT INTO {table} (account_id, metric_id, date, value) "
                    f"SELECT account_id, %s, %s, {expression.replace('least_or_min', least)} "
                    "FROM bench_profile",
                    [ids[name], day],
                )
                rows += cur.rowcount
        for statement in restore:
            cur.execute(statement)
        # Activities: touched accounts get 1-4 over the last 400 days, 80% commercial call/email/...
        now = dt.datetime.combine(AS_OF, dt.time(12), tzinfo=dt.UTC).isoformat()
        activity_rows = 0
        for k in range(4):
            days_ago = f"CAST({r} * 400 AS INTEGER)"
            if connection.vendor == "postgresql":
                occurred = f"(%s::timestamptz - ({days_ago} || ' days')::interval)"
            else:
                occurred = f"datetime(%s, '-' || {days_ago} || ' days')"
            types = (
                "CASE CAST(" + r + " * 6 AS INTEGER) WHEN 0 THEN 'call' WHEN 1 THEN 'email' WHEN 2 THEN "
                "'meeting' WHEN 3 THEN 'proposal' WHEN 4 THEN 'qbr' ELSE 'note' END"
            )
            cur.execute(
                "INSERT INTO expansion_activity (activity_id, account_id, occurred_at, type, actor_email, "
                "commercial, event, reason, note, recorded_at) "
                f"SELECT 'BA' || %s || '-' || account_id, account_id, {occurred}, {types}, '', "
                f"({r} < 0.8), '', '', '', %s FROM bench_profile WHERE touched = 1 AND {r} < %s",
                [k, now, now, 1.0 / (k + 1)],
            )
            activity_rows += cur.rowcount
    from expansion.models import Expansion

    touched = np.flatnonzero(profile["touched"].to_numpy() == 1)
    deals = rng.choice(touched, size=len(touched) // 3, replace=False)
    created = [AS_OF - dt.timedelta(days=int(d)) for d in rng.integers(30, 360, len(deals))]
    Expansion.objects.bulk_create(
        [
            Expansion(
                opportunity_id=f"BOPP-{i:07d}",
                account_id=int(pks[a]),
                created_date=c,
                closed_date=c + dt.timedelta(days=20),
                status="won" if rng.random() < 0.6 else "lost",
                expansion_arr=round(float(acc["contract_arr"].iloc[a]) * 0.2, 2),
                expansion_type=("seats", "tier", "module")[i % 3],
                contract_arr_at_close=round(float(acc["contract_arr"].iloc[a]), 2),
            )
            for i, (a, c) in enumerate(zip(deals, created, strict=True))
        ],
        batch_size=5_000,
    )
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_profile")
        cur.execute("ANALYZE")
    return {"accounts": n_accounts, "snapshots": rows, "activities": activity_rows, "expansions": len(deals)}


def run_coverage(args) -> float:
    from dashboards.selectors import coverage_for

    started = time.perf_counter()
    counts = build_coverage_base(args.coverage_accounts, args.seed)
    log(
        f"coverage base: {counts['accounts']:,} accounts, {counts['snapshots']:,} snapshots, "
        f"{counts['activities']:,} activities, {counts['expansions']:,} expansions "
        f"built in {time.perf_counter() - started:.1f} s (not timed)"
    )
    times = []
    result = None
    for _ in range(3):
        started = time.perf_counter()
        result = coverage_for(AS_OF)
        times.append(time.perf_counter() - started)
    data = result.to_json()
    best = min(times)
    log(
        f"coverage_for({AS_OF}) on {args.coverage_accounts:,} accounts: best {best:.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in times)}); eligible {data['eligible']:,}, "
        f"expansion-ready {data['expansion_ready']:,}, coverage {data['coverage_rate']:.1%}, "
        f"untouched {data['untouched']:,}"
    )
    log(f"target < {TARGETS['coverage']:.0f} s: {'ok' if best < TARGETS['coverage'] else 'MISSED'}")
    return best


# --------------------------------------------------------------------------------------------------
# Backtest
# --------------------------------------------------------------------------------------------------


def build_backtest_base(n_accounts: int, days: int, seed: int, hot_share: float = 0.15) -> dict[str, int]:
    import numpy as np
    import pandas as pd
    from django.db import connection, transaction

    from expansion.models import Expansion

    rng = np.random.default_rng(seed)
    base, pks = load_people_and_accounts(n_accounts, seed, ae_capacity=25)
    acc = base.accounts
    n = n_accounts
    hot = rng.random(n) < hot_share
    flags = rng.random((n, 4))
    profile = pd.DataFrame(
        {
            "account_id": pks,
            "seats": acc["seats_licensed"].to_numpy(dtype=float),
            "api_limit": acc["api_limit_30d"].to_numpy(dtype=float),
            "hot": hot.astype(float),
            "onset": rng.integers(0, days, n).astype(float),
            "api_hot": (hot & (flags[:, 0] < 0.5)).astype(float),
            "auto_hot": (hot & (flags[:, 1] < 0.4)).astype(float),
            "mod_hot": (hot & (flags[:, 2] < 0.25)).astype(float),
            "team_hot": (hot & (flags[:, 3] < 0.3)).astype(float),
            "util": rng.uniform(0.2, 0.82, n),
            "api_share": rng.uniform(0.05, 0.7, n),
            "auto_lo": rng.integers(0, 15, n).astype(float),
            "auto_hi": rng.integers(20, 40, n).astype(float),
            "dept": rng.integers(1, 6, n).astype(float),
            "exports": rng.uniform(100, 5_000, n).round(),
        }
    )
    r = rnd()
    least = "LEAST" if connection.vendor == "postgresql" else "min"
    after = "(hot = 1 AND %(t)s >= onset)"
    expressions = {
        "seats_active": f"CASE WHEN {after} THEN {least}(seats, ceil(seats * (0.92 + 0.08 * {r}))) "
        f"ELSE floor(seats * util * (0.97 + 0.06 * {r})) END",
        "api_calls_30d": "CASE WHEN api_hot = 1 AND %(t)s >= onset "
        f"THEN floor(api_limit * (0.86 + 0.13 * {r})) "
        f"ELSE floor(api_limit * api_share * (0.95 + 0.1 * {r})) END",
        "automation_workflows": "CASE WHEN auto_hot = 1 AND %(t)s >= onset THEN auto_hi ELSE auto_lo END",
        "departments_active": "dept + CASE WHEN team_hot = 1 AND %(t)s >= onset THEN 1 ELSE 0 END",
        "export_rows_30d": f"round(exports * (0.9 + 0.2 * {r}))",
        "gated_feature_views_14d:analytics": f"CASE WHEN mod_hot = 1 AND %(t)s >= onset "
        f"THEN 3 + floor(12 * {r}) ELSE floor(3 * {r}) END",
    }
    ids = metric_ids(expressions)
    first_day = AS_OF - dt.timedelta(days=days - 1)
    table = "expansion_usagesnapshot"
    rows = 0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        profile_table(cur, profile)
        restore = drop_secondary_snapshot_indexes(cur)
        select = " UNION ALL ".join(
            f"SELECT account_id, {ids[name]}, %(day)s, {expression} FROM bench_profile"
            for name, expression in expressions.items()
        )
        for t in range(days):
            day = (first_day + dt.timedelta(days=t)).isoformat()
            cur.execute(
                f"INSERT INTO {table} (account_id, metric_id, date, value) {select}", {"t": t, "day": day}
            )
            rows += cur.rowcount
            if t % 60 == 59:
                log(f"  snapshots: {rows:,} rows ({time.perf_counter() - started:.0f} s)")
        log(f"  rebuilding snapshot indexes ({time.perf_counter() - started:.0f} s)")
        for statement in restore:
            cur.execute(statement)
        cur.execute("DROP TABLE bench_profile")
    # Expansions: 55% of hot accounts open a deal 3-60 days after their onset; 4% background deals.
    expansions = []
    onset = profile["onset"].to_numpy(dtype=int)
    for a in np.flatnonzero(hot & (rng.random(n) < 0.55)):
        day = int(onset[a]) + int(rng.integers(3, 61))
        if day < days:
            expansions.append((a, day, str(rng.choice(["won", "open", "lost"], p=(0.6, 0.15, 0.25)))))
    for a in np.flatnonzero(rng.random(n) < 0.04):
        expansions.append((a, int(rng.integers(0, days)), str(rng.choice(["won", "lost"], p=(0.4, 0.6)))))
    arr = acc["contract_arr"].to_numpy(dtype=float)
    objects = []
    for i, (a, day, status) in enumerate(expansions):
        created = first_day + dt.timedelta(days=day)
        closed = created + dt.timedelta(days=30)
        objects.append(
            Expansion(
                opportunity_id=f"BOPP-{i:07d}",
                account_id=int(pks[a]),
                created_date=created,
                closed_date=None if status == "open" or closed > AS_OF else closed,
                status="open" if closed > AS_OF and status != "open" else status,
                expansion_arr=round(arr[a] * 0.22, 2),
                expansion_type=("seats", "tier", "module")[i % 3],
                contract_arr_at_close=round(arr[a], 2),
            )
        )
    Expansion.objects.bulk_create(objects, batch_size=5_000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {
        "accounts": n,
        "metrics": len(ids),
        "snapshots": rows,
        "expansions": len(objects),
        "hot": int(hot.sum()),
    }


def run_backtest(args) -> float:
    from scoring import backtest_services as services

    days = int(args.months * 365 / 12) + LOOKBACK_DAYS
    if not args.reuse:
        started = time.perf_counter()
        counts = build_backtest_base(args.backtest_accounts, days, args.seed)
        log(
            f"backtest base: {counts['accounts']:,} accounts ({counts['hot']:,} turn hot), "
            f"{counts['snapshots']:,} snapshots ({counts['metrics']} metrics x {days} days), "
            f"{counts['expansions']:,} expansions, built in {time.perf_counter() - started:.0f} s (not timed)"
        )
    start = AS_OF - dt.timedelta(days=int(args.months * 365 / 12) - 1)
    times = []
    for label in ("first run", "second run"):
        started = time.perf_counter()
        result = services.backtest_run(start=start, end=AS_OF, step_days=7)
        times.append(time.perf_counter() - started)
        log(
            f"backtest_run {start} .. {AS_OF} weekly ({result['steps']} steps) on {result['accounts']:,} "
            f"accounts, {label}: {times[-1]:.1f} s; {result['snapshot_rows_read']:,} snapshot rows read "
            f"({result['accounts_reread']:,} account-steps re-read with the full windows)"
        )
    seconds = times[-1]
    log(
        f"   EQLs {result['eqls']:,} ({result['eqls_per_week']}/week), precision {result['precision']}, "
        f"recall {result['recall']} ({result['matched_expansions']:,}/{result['expansions']:,})"
    )
    started = time.perf_counter()
    config = services.config_with_overrides()
    edited = services.config_with_overrides({"seat_utilisation.threshold": 0.95}, base=config)
    both = services.backtest_compare(
        start=start, end=AS_OF, step_days=7, configs={"saved": config, "edited": edited}
    )
    compare_s = time.perf_counter() - started
    log(
        f"what-if (saved vs seat_utilisation.threshold=0.95, lockstep): {compare_s:.1f} s; EQLs "
        f"{both['saved']['eqls']:,} -> {both['edited']['eqls']:,}, precision {both['saved']['precision']} -> "
        f"{both['edited']['precision']}"
    )
    verdict = ["ok" if t < TARGETS["backtest"] else "MISSED" for t in times]
    log(f"target < {TARGETS['backtest']:.0f} s: first run {verdict[0]}, second run {verdict[1]}")
    return seconds


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


def pg_url_for(url: str, part: str) -> str:
    return url.rstrip("/") + f"_{part}"


def run_part(args) -> int:
    from urllib.parse import urlparse

    folder = Path(args.reuse or args.keep or tempfile.mkdtemp(prefix=f"bench-reports-{args.part}-"))
    folder.mkdir(parents=True, exist_ok=True)
    url = args.database_url
    postgres = bool(url) and url.startswith(("postgres://", "postgresql://"))
    if postgres:
        from _database import pg_create, pg_drop

        url = pg_url_for(url, args.part)
        if not args.reuse:
            pg_create(url)
    else:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
    setup_django(url, folder / "var")
    from django.core.management import call_command
    from django.db import connection, connections

    log(f"[{args.part}] database: {connection.vendor} ({urlparse(url).path.rsplit('/', 1)[-1]}), 1 process")
    try:
        if not args.reuse:
            call_command("migrate", verbosity=0)
        (run_coverage if args.part == "coverage" else run_backtest)(args)
    finally:
        connections.close_all()
        if postgres and not (args.keep or args.reuse):
            pg_drop(url)
        if not (args.keep or args.reuse):
            shutil.rmtree(folder, ignore_errors=True)
        else:
            log(f"[{args.part}] kept {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["coverage", "backtest"])
    parser.add_argument("--part", choices=["coverage", "backtest"], help=argparse.SUPPRESS)
    parser.add_argument("--coverage-accounts", type=int, default=100_000)
    parser.add_argument("--backtest-accounts", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", help="PostgreSQL server URL (a database per part is created)")
    parser.add_argument("--keep", help="keep the part's database in this folder (with --only)")
    parser.add_argument("--reuse", help="reuse a database kept with --keep (with --only backtest)")
    args = parser.parse_args(argv)
    if args.part:
        return run_part(args)
    parts = [args.only] if args.only else ["coverage", "backtest"]
    if (args.keep or args.reuse) and len(parts) > 1:
        parser.error("--keep and --reuse need --only")
    forwarded = [
        f"--coverage-accounts={args.coverage_accounts}",
        f"--backtest-accounts={args.backtest_accounts}",
        f"--months={args.months}",
        f"--seed={args.seed}",
    ]
    for name in ("database_url", "keep", "reuse"):
        if getattr(args, name):
            forwarded.append(f"--{name.replace('_', '-')}={getattr(args, name)}")
    status = 0
    for part in parts:
        status |= subprocess.call([sys.executable, __file__, "--part", part, *forwarded])
    return status


if __name__ == "__main__":
    sys.exit(main())
