"""The scoring pass on a base whose usage is scored in place: Parquet files, the compiled signal query.

usage (from the project root):
    .venv/bin/python bench/pushdown.py [--accounts 1000000] [--days 40] [--lake DIR] [--database-url URL]

1. Generates the base's daily usage (7 metrics x ``--days`` days per account, long rows
   account_id, date, metric, value) as Parquet under ``--lake`` (default ``var/bench-lake-<N>``; kept
   and reused by a later run with the same size and seed).
2. Writes the users and accounts into the product database (a temporary SQLite file unless
   ``--database-url``), and a warehouse source on the Parquet folder marked *score in place*. The
   usage is not copied; the source's usage is marked validated (its sync's validation throughput is
   bench/source_sync.py's subject, not this one's).
3. Times, in this process (``scoring_pass_run``, chunk after chunk): a first full pass (creates the
   EQLs), an unchanged pass (must write 0 EQL rows; reuses the readings file), and samples the
   process's resident memory during both (DuckDB runs in-process, so its memory is in the figure).
4. Times the compiled query alone over the Parquet (as the pass runs it) against a hand-written DuckDB
   query of the same signals over the same files (bench/score.py's ``fired_sql``, which returns only
   the fired pairs: less work than the compiled query's values and flags), and checks both fire the
   same (account, signal) pairs.

Targets (issue: warehouse-native): at 1,000,000 accounts full pass < 300 s, unchanged < 60 s with 0
EQL writes, peak memory < 4 GB; compiled query <= 1.5x the hand-written one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _synthetic  # noqa: E402
from _database import bench_environment, pg_create, pg_drop  # noqa: E402

AS_OF = dt.date(2026, 3, 31)
TARGETS = {"full": 300.0, "unchanged": 60.0, "memory_gb": 4.0, "compiled_vs_hand": 1.5}
BLOCK = 20_000


def log(message: str) -> None:
    print(message, flush=True)


class PeakMemory:
    """The process's peak resident memory while inside the ``with`` block (sampled every 50 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.rss())

    def __enter__(self):
        self.peak = self.rss()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def write_lake(base, lake: Path) -> int:
    """The base's usage as Parquet files of BLOCK accounts each; returns the row count."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    done = lake / "usage" / "_complete"
    if done.exists():
        rows = int(done.read_text())
        log(f"lake: reusing {rows:,} usage rows under {lake}")
        return rows
    shutil.rmtree(lake / "usage", ignore_errors=True)
    (lake / "usage").mkdir(parents=True)
    started = time.perf_counter()
    d = base.days
    dates = np.arange(np.datetime64(base.as_of) - (d - 1), np.datetime64(base.as_of) + 1)
    ids = base.accounts["account_id"].to_numpy()
    metrics = list(_synthetic.METRICS)
    rows = 0
    for part, lo in enumerate(range(0, len(ids), BLOCK)):
        hi = min(lo + BLOCK, len(ids))
        values = _synthetic.usage_block(base, lo, hi)
        n = hi - lo
        stacked = np.stack([values[m] for m in metrics], axis=1)  # (accounts, metrics, days)
        table = pa.table(
            {
                "account_id": pa.DictionaryArray.from_arrays(
                    np.repeat(np.arange(n, dtype=np.int32), len(metrics) * d), pa.array(ids[lo:hi])
                ),
                "date": pa.array(np.tile(dates, n * len(metrics))),
                "metric": pa.DictionaryArray.from_arrays(
                    np.tile(np.repeat(np.arange(len(metrics), dtype=np.int32), d), n), pa.array(metrics)
                ),
                "value": pa.array(stacked.reshape(-1)),
            }
        )
        pq.write_table(table, lake / "usage" / f"part-{part:04d}.parquet", row_group_size=1_000_000)
        rows += table.num_rows
        if part % 10 == 9:
            log(f"  lake: {rows:,} rows ({time.perf_counter() - started:.0f} s)")
    done.write_text(str(rows))
    log(f"lake: {rows:,} usage rows written in {time.perf_counter() - started:.1f} s")
    return rows


def accounts_write(base) -> None:
    """Users and accounts with bulk SQL (the pass's own tables; snapshots stay empty)."""
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from expansion.models import Account, User

    User.objects.bulk_create(
        [User(username=r.email, email=r.email, name=r.name, role=r.role) for r in base.users.itertuples()]
    )
    user_pk = dict(User.objects.values_list("email", "pk"))
    now = timezone.now().isoformat()
    table = Account._meta.db_table
    columns = (
        "account_id, name, segment, plan_tier, contract_arr, customer_since, seats_licensed, "
        "api_limit_30d, owned_modules, health_score, status, ae_id, csm_id, crm_account_id, timezone, "
        "admin_email, created_at, updated_at"
    )
    marks = ", ".join(["%s"] * 18)
    acc = base.accounts
    with transaction.atomic(), connection.cursor() as cur:
        for lo in range(0, len(acc), 50_000):
            block = acc.iloc[lo : lo + 50_000]
            rows = [
                (
                    r.account_id,
                    r.name,
                    r.segment,
                    r.plan_tier,
                    f"{float(r.contract_arr):.2f}",
                    r.customer_since.date().isoformat(),
                    int(r.seats_licensed),
                    int(r.api_limit_30d),
                    json.dumps(r.owned_modules),
                    None if r.health_score != r.health_score else int(r.health_score),
                    r.status,
                    user_pk[r.ae_email],
                    user_pk[r.csm_email],
                    "",
                    "",
                    "",
                    now,
                    now,
                )
                for r in block.itertuples()
            ]
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # nosec B608: bench, model table


def source_write(lake: Path):
    from django.utils import timezone

    from expansion.models import SourceRun, WarehouseSource

    source = WarehouseSource.objects.create(
        name="bench-lake", kind="parquet", location=str(lake), score_in_place=True
    )
    SourceRun.objects.create(
        source=source,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        state=SourceRun.State.DONE,
        inputs={"usage": {"rows": 0, "rejected": 0, "created": 0, "updated": 0, "state": "done"}},
    )
    return source


def timed_pass(label: str, as_of: dt.datetime):
    from expansion.models import EQL
    from scoring.services import scoring_pass_run

    started = time.perf_counter()
    with PeakMemory() as memory:
        scoring_pass = scoring_pass_run(as_of=as_of, trigger="bench")
    seconds = time.perf_counter() - started
    written = EQL.objects.filter(last_pass=scoring_pass.pk).count()
    log(
        f"{label:<24} {seconds:7.1f} s   peak RSS {memory.peak / 2**30:5.2f} GB   "
        f"created {scoring_pass.eqls_created:>7,}  updated {scoring_pass.eqls_updated:>6,}  "
        f"unchanged {scoring_pass.eqls_unchanged:>7,}  rows written {written:>7,}"
    )
    return seconds, memory.peak, scoring_pass, written


def query_comparison(repeat: int) -> tuple[float, float]:
    """The compiled query (as the pass runs it) vs a hand-written DuckDB query over the same Parquet."""
    import duckdb
    from score import as_pairs, fired_sql

    from scoring import pushdown, readings, selectors

    config = selectors.scoring_config_load()
    compiled = pushdown.compile_signals(config, AS_OF)
    assert not compiled.refused, compiled.refused
    place = readings._usage_place(config, AS_OF)
    accounts = selectors.pushdown_accounts_frame()

    def run_compiled():
        return readings._run(compiled, place, accounts)

    engine_accounts = selectors.accounts_frame()
    by_id = engine_accounts.rename_axis("pk").reset_index()

    def run_hand():
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{readings.query_memory()}'")
        con.execute(f"SET temp_directory = '{Path(readings.settings.VAR_DIR) / 'duckdb-tmp'}'")
        keys = by_id[["pk", "account_id", "seats_licensed", "api_limit_30d", "contract_arr"]].copy()
        keys["contract_arr"] = keys["contract_arr"].astype(float)
        keys["owned"] = engine_accounts["owned_modules"].map(lambda m: list(m or [])).to_numpy()
        con.register("keys_raw", keys)
        con.execute(
            "CREATE TEMP TABLE accts AS SELECT pk AS account, account_id, seats_licensed, api_limit_30d, "
            "contract_arr, CAST(owned AS VARCHAR[]) AS owned FROM keys_raw"
        )
        con.execute(
            "CREATE TEMP VIEW snaps AS SELECT k.account, u.date, u.metric, u.value "
            f"FROM ({place.relation}) AS u JOIN accts AS k ON k.account_id = u.account"  # nosec B608: bench
        )
        frame = con.execute(fired_sql(config, AS_OF)).df()
        con.close()
        return frame

    times = {"compiled": [], "hand": []}
    wide = hand = None
    for _ in range(repeat):
        started = time.perf_counter()
        wide = run_compiled()
        times["compiled"].append(time.perf_counter() - started)
        started = time.perf_counter()
        hand = run_hand()
        times["hand"].append(time.perf_counter() - started)
    compiled_s, hand_s = min(times["compiled"]), min(times["hand"])
    fired = {
        (int(a), key)
        for i, key in enumerate(compiled.signals)
        for a in wide.loc[wide[f"f{i}"].fillna(False).astype(bool), "account"]
    }
    theirs = as_pairs(hand)
    if fired != theirs:
        raise AssertionError(
            f"fired tables differ: compiled only {sorted(fired - theirs)[:10]}, "
            f"hand-written only {sorted(theirs - fired)[:10]}"
        )
    log(f"compiled query over Parquet  {compiled_s:7.1f} s   (best of {repeat}; values, flags, metrics)")
    log(f"hand-written DuckDB query    {hand_s:7.1f} s   (best of {repeat}; fired pairs only)")
    log(f"compiled / hand-written      {compiled_s / hand_s:7.2f} x   fired pairs agree: {len(fired):,}")
    return compiled_s, hand_s


def run(args) -> dict:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    log(f"database: {connection.vendor} ({connection.settings_dict['NAME']}), {args.accounts:,} accounts")
    call_command("migrate", verbosity=0)
    base = _synthetic.make_base(args.accounts, AS_OF, args.days, seed=args.seed)
    lake = Path(args.lake or ROOT / "var" / f"bench-lake-{args.accounts}-{args.days}-{args.seed}")
    rows = write_lake(base, lake)
    started = time.perf_counter()
    accounts_write(base)
    source_write(lake)
    log(f"accounts and users written in {time.perf_counter() - started:.1f} s (not timed below)")
    log(f"usage: {rows:,} rows ({len(_synthetic.METRICS)} metrics x {args.days} days) scored in place")

    clock = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(6)))
    results = {}
    results["full"], full_peak, first, _ = timed_pass("1. first full pass", clock)
    results["unchanged"], unchanged_peak, second, written = timed_pass(
        "2. unchanged pass", clock + dt.timedelta(hours=1)
    )
    assert second.eqls_created == second.eqls_updated == 0, "an unchanged pass wrote EQLs"
    assert written == 0, "an unchanged pass touched EQL rows"
    results["peak_gb"] = max(full_peak, unchanged_peak) / 2**30
    log(f"   {first.eqls_created:,} EQLs for {first.accounts_scored:,} accounts")
    results["compiled"], results["hand"] = query_comparison(args.repeat)

    ok = {
        "full": results["full"] < TARGETS["full"],
        "unchanged": results["unchanged"] < TARGETS["unchanged"],
        "memory": results["peak_gb"] < TARGETS["memory_gb"],
        "query": results["compiled"] <= TARGETS["compiled_vs_hand"] * results["hand"],
    }
    log("")
    log(
        f"result: full {results['full']:.1f} s [{'ok' if ok['full'] else 'MISSED'} < 300], "
        f"unchanged {results['unchanged']:.1f} s [{'ok' if ok['unchanged'] else 'MISSED'} < 60], "
        f"peak {results['peak_gb']:.2f} GB [{'ok' if ok['memory'] else 'MISSED'} < 4], "
        f"compiled {results['compiled'] / results['hand']:.2f}x hand-written "
        f"[{'ok' if ok['query'] else 'MISSED'} <= 1.5]"
    )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--lake", help="Parquet folder (default var/bench-lake-<accounts>-<days>-<seed>)")
    parser.add_argument("--database-url", help="default: a temporary SQLite file")
    parser.add_argument("--repeat", type=int, default=2, help="runs of the query comparison")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-pushdown-"))
    url = args.database_url or f"sqlite:///{tmp / 'bench.sqlite3'}"
    postgres = url.startswith(("postgres://", "postgresql://"))
    if postgres:
        pg_create(url)
    bench_environment(database_url=url, var_dir=str(tmp), SCORING_PUSHDOWN="auto")

    import django

    django.setup()
    from django.db import connections

    try:
        run(args)
    finally:
        connections.close_all()
        if postgres:
            pg_drop(url)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
