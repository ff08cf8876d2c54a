"""Server time of the browser inbox (queue and EQL page) on a large SQLite database.

    .venv/bin/python bench/inbox.py [--accounts 100000] [--eqls 20000] [--requests 200] [--keep]

Builds a throwaway SQLite database in a temporary folder (``DATABASE_URL`` and ``EXPANSION_VAR_DIR``
are set before Django starts, so the product's own database is never touched), migrates it (the
default signals, gates and reason codes come from the migrations) and bulk-loads:

* 40 AEs, 60 CSMs, 2 managers, RevOps and Finance;
* ``--accounts`` accounts, each with an AE and a CSM and 3 activities;
* ``--eqls`` EQLs: 80% open (one per account, routes ae/csm/self_serve/csm_review) and 20% closed
  ones on the same accounts (the "past EQLs" of the EQL page);
* 90 days of the primary metric for every account with an open EQL (the sparkline);
* 50 notifications for each person the benchmark signs in as.

Then, in one process with ``django.test.Client`` (the whole middleware stack: sessions, auth, CSRF,
htmx), it times ``--requests`` requests of each page, signed in as RevOps (sees every EQL) and as an
AE (sees their own): the queue cycles through its first pages and through filters, the EQL page
through different EQLs the person may see. The first 10 requests of each series warm up and are not
counted. Prints the median and p95 in milliseconds; the target is p95 < 150 ms. Query logging is off
(``DEBUG`` false at run time), as in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_P95_MS = 150.0
WARMUP = 10
DAYS = 90
SIGNALS = ("seat_utilisation", "api_rate_approach", "feature_adjacency", "automation_depth", "team_spread")
ROUTES = (("ae", 0.5), ("csm", 0.25), ("self_serve", 0.15), ("csm_review", 0.10))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--eqls", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary database folder.")
    return parser.parse_args()


def setup_django(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["EXPANSION_VAR_DIR"] = str(folder / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expansion.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(args: argparse.Namespace) -> dict:
    """Load the database; returns the people the benchmark signs in as."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from expansion.models import EQL, Account, Metric, User

    rng = random.Random(args.seed)
    call_command("migrate", verbosity=0)
    now = timezone.now()
    today = timezone.localdate()
    password = make_password("bench-password")

    def person(email: str, role: str, manager=None) -> User:
        return User(
            username=email,
            email=email,
            name=email.split("@")[0],
            role=role,
            password=password,
            manager=manager,
        )

    with transaction.atomic():
        managers = User.objects.bulk_create(
            [person(f"manager{i}@bench.example", "Manager") for i in range(2)]
        )
        aes = User.objects.bulk_create(
            [person(f"ae{i}@bench.example", "AE", managers[i % 2]) for i in range(40)]
        )
        csms = User.objects.bulk_create(
            [person(f"csm{i}@bench.example", "CSM", managers[i % 2]) for i in range(60)]
        )
        revops, _finance = User.objects.bulk_create(
            [person("revops@bench.example", "RevOps"), person("finance@bench.example", "Finance")]
        )

        accounts = []
        for i in range(args.accounts):
            accounts.append(
                Account(
                    account_id=f"ACC-{i:06d}",
                    name=f"{rng.choice(('Northwind', 'Bluefin', 'Cobalt', 'Summit', 'Lumen', 'Granite'))} "
                    f"{rng.choice(('Logistics', 'Health', 'Labs', 'Capital', 'Energy'))} {i}",
                    segment=rng.choice(("SMB", "MidMarket", "Enterprise")),
                    plan_tier=rng.choice(("Starter", "Professional", "Business")),
                    contract_arr=rng.randrange(8_000, 400_000),
                    customer_since=today - dt.timedelta(days=rng.randrange(130, 2000)),
                    seats_licensed=rng.randrange(10, 800),
                    api_limit_30d=1_000_000,
                    health_score=rng.randrange(55, 100),
                    ae=aes[i % len(aes)],
                    csm=csms[i % len(csms)],
                )
            )
        Account.objects.bulk_create(accounts, batch_size=5000)
        account_rows = list(
            Account.objects.order_by("pk").values_list("pk", "ae_id", "csm_id", "seats_licensed")
        )

        n_open = int(args.eqls * 0.8)
        open_accounts = rng.sample(account_rows, n_open)
        eqls = []
        for pk, ae_id, csm_id, _seats in open_accounts:
            route = rng.choices([r for r, _ in ROUTES], weights=[w for _, w in ROUTES])[0]
            primary = rng.choice(SIGNALS)
            triggers = [{"signal": primary, "value": 0.93, "threshold": 0.9, "points": 40}] + [
                {"signal": s, "value": 25.0, "threshold": 20.0, "points": 20}
                for s in rng.sample([s for s in SIGNALS if s != primary], rng.randrange(0, 3))
            ]
            created = now - dt.timedelta(hours=rng.randrange(1, 24 * 20))
            eqls.append(
                EQL(
                    account_id=pk,
                    status=rng.choice(("new", "new", "contacted", "call_booked", "proposal_sent")),
                    score=0 if route == "csm_review" else rng.randrange(60, 101),
                    primary_signal=primary,
                    priority="watch" if route == "csm_review" else rng.choice(("high", "medium")),
                    expansion_type="seats",
                    triggered_signals=triggers,
                    evaluation={"estimate": {"uplift": 0.2, "source": "default"}, "signals": []},
                    route=route,
                    owner_id=ae_id if route == "ae" else csm_id,
                    csm_id=csm_id,
                    csm_involvement_required=route == "ae",
                    contract_arr=50_000,
                    estimated_expansion_arr=10_000,
                    estimate_source="default",
                    opening_angle="Account has had 47 of 50 seats in use (94%) every day for the past week.",
                    discovery_questions=["Who is waiting for a seat?", "Which teams join next quarter?"],
                    created_at=created,
                    updated_at=created,
                    assigned_at=created,
                    sla_deadline=created + dt.timedelta(hours=rng.choice((24, 48, 72))),
                    review_state="pending" if route == "ae" and rng.random() < 0.2 else "",
                )
            )
        for pk, ae_id, csm_id, _ in rng.sample(open_accounts, args.eqls - n_open):
            closed = now - dt.timedelta(days=rng.randrange(40, 300))
            eqls.append(
                EQL(
                    account_id=pk,
                    status=rng.choice(("won", "lost", "declined")),
                    score=rng.randrange(60, 101),
                    primary_signal=rng.choice(SIGNALS),
                    route="ae",
                    owner_id=ae_id,
                    csm_id=csm_id,
                    contract_arr=50_000,
                    created_at=closed - dt.timedelta(days=10),
                    updated_at=closed,
                    closed_at=closed,
                    close_reason="bad_timing",
                )
            )
        EQL.objects.bulk_create(eqls, batch_size=2000)

        # Activities and snapshots: plain executemany (millions of rows in seconds).
        with connection.cursor() as cur:
            stamp = now.strftime("%Y-%m-%d %H:%M:%S")
            cur.executemany(
                "INSERT INTO expansion_activity (activity_id, account_id, occurred_at, type, actor_id,"
                " actor_email, commercial, event, reason, note, recorded_at)"
                " VALUES (?, ?, ?, ?, ?, '', ?, '', '', ?, ?)",
                (
                    (
                        f"ACT-{pk}-{j}",
                        pk,
                        (now - dt.timedelta(days=rng.randrange(1, 365))).strftime("%Y-%m-%d %H:%M:%S"),
                        rng.choice(("call", "email", "meeting", "qbr", "note")),
                        csm_id if j % 2 else ae_id,
                        j % 2 == 0,
                        "Talked about the roadmap." if j == 0 else "",
                        stamp,
                    )
                    for pk, ae_id, csm_id, _ in account_rows
                    for j in range(3)
                ),
            )
            metric = Metric.objects.get_or_create(name="seats_active")[0]
            cur.executemany(
                "INSERT INTO expansion_usagesnapshot (account_id, metric_id, date, value)"
                " VALUES (?, ?, ?, ?)",
                (
                    (pk, metric.pk, (today - dt.timedelta(days=d)).isoformat(), float(seats * 0.9 - d % 7))
                    for pk, _, _, seats in open_accounts
                    for d in range(DAYS)
                ),
            )
        from routing.models import Notification

        ae = aes[0]
        Notification.objects.bulk_create(
            [
                Notification(recipient=u, kind="new_eql", subject=f"New EQL {i}", body="b", created_at=now)
                for u in (ae, revops)
                for i in range(50)
            ]
        )
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return {"revops": revops, "ae": ae}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def timed(client, urls: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per request (SQLite runs in-process, so CPU time includes the
    queries; it is the figure to trust when other jobs share the machine's cores)."""
    wall, cpu = [], []
    for i, url in enumerate(urls):
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        elapsed, elapsed_cpu = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}")
        if i >= WARMUP:
            wall.append(elapsed)
            cpu.append(elapsed_cpu)
    return wall, cpu


def run(args: argparse.Namespace, people: dict) -> list[dict]:
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from routing.selectors import eqls_visible

    settings.DEBUG = False  # no query log, as in production
    rng = random.Random(args.seed + 1)
    n = args.requests + WARMUP
    results = []
    filters = [
        {},
        {"page": 2},
        {"page": 5},
        {"route": "ae"},
        {"priority": "high"},
        {"signal": "seat_utilisation"},
        {"overdue": "on"},
        {"q": "Northwind"},
        {"status": "all"},
    ]
    for who, user in people.items():
        client = Client()
        client.force_login(user)
        queue_urls = []
        for i in range(n):
            params = filters[i % len(filters)]
            query = "&".join(f"{k}={v}" for k, v in params.items())
            queue_urls.append(reverse("inbox") + (f"?{query}" if query else ""))
        pks = list(
            eqls_visible(user=user)
            .filter(status__in=["new", "contacted"])
            .values_list("pk", flat=True)[:5000]
        )
        eql_urls = [reverse("eql", args=[rng.choice(pks)]) for _ in range(n)]
        visible = (
            eqls_visible(user=user)
            .filter(status__in=["new", "contacted", "call_booked", "proposal_sent"])
            .count()
        )
        for page, urls in (("queue", queue_urls), ("eql page", eql_urls)):
            wall, cpu = timed(client, urls)
            results.append(
                {
                    "page": page,
                    "user": f"{who} ({user.role}, {visible:,} open EQLs visible)",
                    "requests": len(wall),
                    "median_ms": round(statistics.median(wall), 1),
                    "p95_ms": round(percentile(wall, 0.95), 1),
                    "cpu_median_ms": round(statistics.median(cpu), 1),
                    "cpu_p95_ms": round(percentile(cpu, 0.95), 1),
                }
            )
    return results


def main() -> None:
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    try:
        setup_django(folder)
        started = time.perf_counter()
        people = build(args)
        build_seconds = time.perf_counter() - started
        results = run(args, people)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(
        f"Inbox server time on SQLite ({args.accounts:,} accounts, {args.eqls:,} EQLs; one process, "
        f"django.test.Client; database built in {build_seconds:.0f}s)"
    )
    print(
        f"load average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} cores)"
    )
    print(
        f"{'page':<9} {'signed in as':<43} {'n':>4} {'median':>7} {'p95':>7} {'cpu med':>8} {'cpu p95':>8}"
        f"  (ms; target p95 < {TARGET_P95_MS:.0f})"
    )
    ok = True
    for r in results:
        passed = r["p95_ms"] < TARGET_P95_MS
        ok &= passed
        print(
            f"{r['page']:<9} {r['user']:<43} {r['requests']:>4} {r['median_ms']:>7.1f} {r['p95_ms']:>7.1f}"
            f" {r['cpu_median_ms']:>8.1f} {r['cpu_p95_ms']:>8.1f}  {'ok' if passed else 'SLOW'}"
        )
    print(json.dumps({"results": results, "target_p95_ms": TARGET_P95_MS, "ok": ok}))
    if args.keep:
        print(f"database kept in {folder}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
