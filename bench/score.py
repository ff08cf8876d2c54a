"""Scoring-pass benchmark on a synthetic base.

usage (from the project root):
    .venv/bin/python bench/score.py [--accounts 100000] [--days 40] [--database-url URL]

Without ``--database-url`` a temporary SQLite file is used. With a PostgreSQL URL
(e.g. ``postgres://expansion:expansion@127.0.0.1:5432/expansion_bench``) the database is created
(dropped first if it exists) and dropped at the end unless ``--keep``.

It builds accounts with users and 7 daily metrics x ``--days`` days (about 10% of accounts qualify),
loads them with bulk SQL, and times only the scoring:

1. a first full pass (creates the EQLs),
2. a second pass with nothing changed (must write zero EQL rows),
3. a pass after 1% of the accounts' latest snapshots changed,
4. the engine's evaluation step alone (``scoring.engine.evaluate`` on the frames from
   ``scoring.selectors``) against DuckDB computing the same fired-signal table in SQL over the same
   frames, with a check that both tables agree.

Notifications are queued to an in-memory Celery broker (``memory://``) so a broker on disk or the
network does not blur the pass's own time; the in-app notifications are still written by the pass.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _synthetic  # noqa: E402
from _database import bench_environment, pg_create, pg_drop  # noqa: E402

AS_OF = dt.date(2026, 3, 31)
TARGETS = {"full": 60.0, "unchanged": 15.0, "engine_vs_duckdb": 2.0}
OPS = {"gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "eq": "=", "ne": "<>"}


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------------------------------
# DuckDB: the fired-signal table in SQL
# --------------------------------------------------------------------------------------------------


def _reading(spec, column: str) -> str:
    """SQL for a signal's base reading of one snapshot value column (optionally over an account field)."""
    if spec.denominator_metric:
        raise NotImplementedError(f"{spec.key}: denominator metrics are not in the DuckDB comparison")
    if spec.denominator_field:
        return f"{column} / NULLIF(c.{spec.denominator_field}, 0)"
    return column


def _signal_sql(spec) -> str:
    op, threshold, days = OPS[spec.operator], float(spec.threshold), spec.persistence_days
    key = spec.key
    if spec.is_module_family:
        # One candidate per module the account does not own; any firing module fires the signal.
        prefix = spec.metric[: -len(":*")] + ":"
        return f"""
        SELECT DISTINCT a.account, '{key}' AS signal
        FROM anchor a
        JOIN s ON s.account = a.account AND starts_with(s.metric, '{prefix}')
             AND s.d BETWEEN a.anchor - {days - 1} AND a.anchor
        JOIN accts c ON c.account = a.account
        WHERE NOT list_contains(c.owned, substr(s.metric, {len(prefix) + 1}))
          AND {_reading(spec, "s.value")} {op} {threshold}
        GROUP BY a.account, s.metric HAVING count(*) = {days}"""
    if spec.compare == "value":
        return f"""
        SELECT a.account, '{key}' AS signal
        FROM anchor a
        JOIN s ON s.account = a.account AND s.metric = '{spec.metric}'
             AND s.d BETWEEN a.anchor - {days - 1} AND a.anchor
        JOIN accts c ON c.account = a.account
        WHERE {_reading(spec, "s.value")} {op} {threshold}
        GROUP BY a.account HAVING count(*) = {days}"""
    if days != 1:
        raise NotImplementedError(f"{key}: persistence on change/ratio signals is not in the comparison")
    now, past = _reading(spec, "n.value"), _reading(spec, "p.v")
    reading = f"({now}) - ({past})" if spec.compare == "change" else f"({now}) / NULLIF({past}, 0)"
    return f"""
        SELECT a.account, '{key}' AS signal
        FROM anchor a
        JOIN accts c ON c.account = a.account
        JOIN s n ON n.account = a.account AND n.metric = '{spec.metric}' AND n.d = a.anchor
        JOIN (
            SELECT a2.account, arg_max(s2.value, s2.d) AS v
            FROM anchor a2
            JOIN s s2 ON s2.account = a2.account AND s2.metric = '{spec.metric}'
                 AND s2.d <= a2.anchor - {spec.window_days}
            WHERE NOT isnan(s2.value)
            GROUP BY a2.account
        ) p ON p.account = a.account
        WHERE {reading} {op} {threshold}"""


def fired_sql(config, as_of: dt.date) -> str:
    """One query: every (account, signal) that fires at ``as_of`` (engine semantics, spec/domain.md)."""
    age = config.policy.max_data_age_days
    parts = [_signal_sql(spec) for spec in config.signals]
    return f"""
    WITH s AS (
        SELECT account, CAST(date AS DATE) AS d, metric, value
        FROM snaps WHERE CAST(date AS DATE) <= DATE '{as_of.isoformat()}' AND NOT isnan(value)
    ),
    anchor AS (
        SELECT account, max(CAST(date AS DATE)) AS anchor
        FROM snaps WHERE CAST(date AS DATE) <= DATE '{as_of.isoformat()}'
        GROUP BY account
        HAVING max(CAST(date AS DATE)) >= DATE '{as_of.isoformat()}' - {age}
    )
    {" UNION ALL ".join(parts)}
    """


def duckdb_fired(accounts, snapshots, config, as_of: dt.date):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    accts = accounts[["seats_licensed", "api_limit_30d", "contract_arr"]].reset_index()
    accts["owned"] = accounts["owned_modules"].map(lambda m: list(m or [])).to_numpy()
    con.register("snaps", snapshots)
    con.register("accts_raw", accts)
    con.execute(
        "CREATE TEMP TABLE accts AS SELECT account, seats_licensed, api_limit_30d, contract_arr, "
        "CAST(owned AS VARCHAR[]) AS owned FROM accts_raw"
    )
    frame = con.execute(fired_sql(config, as_of)).df()
    con.close()
    return frame


def engine_fired(evaluation):
    result = evaluation.signals_result
    return result.loc[result["fired"].to_numpy(dtype=bool), ["account", "signal"]]


def as_pairs(frame) -> set[tuple[int, str]]:
    accounts = frame["account"].astype("int64").tolist()
    return set(zip(accounts, frame["signal"].astype(str).tolist(), strict=True))


def best_of(runs: int, fn):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


# --------------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------------


def change_latest(base, share: float, as_of: dt.date) -> int:
    """Raise seats_active by 1 and api_calls_30d by 2% on the latest day for ``share`` of accounts."""
    from django.db import connection, transaction

    from expansion.models import Account, Metric
    from expansion.services import usage_changed

    rows = _synthetic.changed_accounts(base, share)
    ids = base.accounts["account_id"].iloc[rows].tolist()
    pks = list(Account.objects.filter(account_id__in=ids).values_list("pk", flat=True))
    metric = dict(Metric.objects.values_list("name", "pk"))
    table = _synthetic.SNAPSHOT_TABLE
    with transaction.atomic(), connection.cursor() as cur:
        for lo in range(0, len(pks), 500):
            chunk = pks[lo : lo + 500]
            marks = ", ".join(["%s"] * len(chunk))
            cur.execute(
                f"UPDATE {table} SET value = value + 1 WHERE metric_id = %s AND date = %s "
                f"AND account_id IN ({marks})",
                [metric["seats_active"], as_of, *chunk],
            )
            cur.execute(
                f"UPDATE {table} SET value = ROUND(value * 1.02) WHERE metric_id = %s AND date = %s "
                f"AND account_id IN ({marks})",
                [metric["api_calls_30d"], as_of, *chunk],
            )
        # a writer of snapshots records the days it changed (the pass's usage store re-reads them)
        usage_changed(first_date=as_of, last_date=as_of, rows=2 * len(pks))
    return len(pks)


def timed_pass(label: str, as_of: dt.datetime, chunk_size: int | None):
    from expansion.models import EQL
    from scoring.services import scoring_pass_run

    started = time.perf_counter()
    scoring_pass = scoring_pass_run(as_of=as_of, trigger="bench", chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    written = EQL.objects.filter(last_pass=scoring_pass.pk).count()
    log(
        f"{label:<28} {seconds:7.2f} s   created {scoring_pass.eqls_created:>6,}  "
        f"updated {scoring_pass.eqls_updated:>6,}  unchanged {scoring_pass.eqls_unchanged:>6,}  "
        f"csm reviews {scoring_pass.csm_reviews_created:>4,}  rows written {written:>6,}"
    )
    return seconds, scoring_pass, written


def run(args) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from expansion.models import EQL, Account
    from routing.models import RoundRobinCursor
    from scoring import engine, selectors
    from scoring.models import ScoringPass
    from scoring.services import pass_inputs

    log(f"database: {connection.vendor} ({connection.settings_dict['NAME']})")
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"migrate: {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    base = _synthetic.make_base(args.accounts, AS_OF, args.days, seed=args.seed)
    if args.reuse and Account.objects.count() == args.accounts:
        EQL.objects.all().delete()
        ScoringPass.objects.all().delete()
        RoundRobinCursor.objects.all().delete()
        log(f"reusing the loaded base; EQLs and passes cleared in {time.perf_counter() - started:.1f} s")
    else:
        counts = _synthetic.load(base, log=log)
        log(
            f"synthetic base: {counts['accounts']:,} accounts, {counts['users']} users, "
            f"{counts['snapshots']:,} snapshots ({len(_synthetic.METRICS)} metrics x {args.days} days) "
            f"loaded in {time.perf_counter() - started:.1f} s (not timed below)"
        )

    clock = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(6)))
    results = {}
    full_s, first, _ = timed_pass("1. first full pass", clock, args.chunk_size)
    results["full"] = full_s
    share = first.eqls_created / max(first.accounts_scored, 1)
    log(f"   {first.eqls_created:,} EQLs for {first.accounts_scored:,} accounts ({share:.1%} qualify)")

    unchanged_s, second, written = timed_pass(
        "2. unchanged pass", clock + dt.timedelta(hours=1), args.chunk_size
    )
    assert second.eqls_created == second.eqls_updated == 0, "an unchanged pass wrote EQLs"
    assert written == 0, "an unchanged pass touched EQL rows"
    results["unchanged"] = unchanged_s

    changed = change_latest(base, 0.01, AS_OF)
    log(f"   changed the latest seats/API snapshot of {changed:,} accounts (1%)")
    results["changed_1pct"], _, _ = timed_pass(
        "3. pass after 1% changed", clock + dt.timedelta(hours=2), None
    )

    # Engine alone vs DuckDB on the same frames.
    config, uplifts = pass_inputs()
    started = time.perf_counter()
    accounts = selectors.accounts_frame()
    snapshots = selectors.snapshot_window(config, AS_OF)
    log(
        f"selectors (not compared): {len(accounts):,} accounts, {len(snapshots):,} snapshot rows in "
        f"{time.perf_counter() - started:.1f} s"
    )
    engine_s, evaluation = best_of(
        args.repeat, lambda: engine.evaluate(accounts, snapshots, config, AS_OF, uplifts)
    )
    duck_s, duck = best_of(args.repeat, lambda: duckdb_fired(accounts, snapshots, config, AS_OF))
    mine, theirs = as_pairs(engine_fired(evaluation)), as_pairs(duck)
    by_signal = {s.key: sum(1 for _, k in mine if k == s.key) for s in config.signals}
    log(f"4. engine.evaluate            {engine_s:7.2f} s   (best of {args.repeat})")
    log(f"   DuckDB fired-signal SQL    {duck_s:7.2f} s   (best of {args.repeat})")
    log(f"   engine / DuckDB            {engine_s / duck_s:7.2f} x")
    log(f"   fired per signal: {by_signal}")
    if mine != theirs:
        only_engine, only_duck = sorted(mine - theirs)[:10], sorted(theirs - mine)[:10]
        raise AssertionError(f"fired tables differ: engine only {only_engine}, DuckDB only {only_duck}")
    log(f"   fired tables agree: {len(mine):,} (account, signal) pairs")
    results["engine"], results["duckdb"] = engine_s, duck_s

    log("")
    log(
        f"targets: full < {TARGETS['full']:.0f} s, unchanged < {TARGETS['unchanged']:.0f} s, "
        "engine <= 2x DuckDB"
    )
    log(
        f"result:  full {results['full']:.1f} s [{'ok' if results['full'] < TARGETS['full'] else 'MISSED'}], "
        f"unchanged {results['unchanged']:.1f} s "
        f"[{'ok' if results['unchanged'] < TARGETS['unchanged'] else 'MISSED'}], "
        f"engine {engine_s / duck_s:.2f}x DuckDB "
        f"[{'ok' if engine_s <= TARGETS['engine_vs_duckdb'] * duck_s else 'MISSED'}]"
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--chunk-size", type=int, help="accounts per chunk (default SCORING_CHUNK_SIZE)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the engine/DuckDB comparison")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="use the base already loaded in --database-url (kept by --keep); implies --keep",
    )
    parser.add_argument("--profile", help="write a cProfile of the three passes to this file")
    args = parser.parse_args(argv)

    if args.reuse:
        if not args.database_url:
            parser.error("--reuse needs --database-url")
        args.keep = True
    tmp = None
    url = args.database_url
    if not url:
        tmp = Path(tempfile.mkdtemp(prefix="bench-score-"))
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres and not args.reuse:
        pg_create(url)
    bench_environment(database_url=url, var_dir=str(tmp or Path(tempfile.gettempdir()) / "bench-score-var"))

    import django

    django.setup()
    from django.db import connections

    try:
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            run(args)
            profiler.disable()
            profiler.dump_stats(args.profile)
            log(f"profile written to {args.profile}")
        else:
            run(args)
    finally:
        connections.close_all()
        if postgres and not args.keep:
            pg_drop(url)
        if tmp is not None and not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp is not None:
            log(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
