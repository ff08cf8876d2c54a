"""The CRM sync on 20,000 new EQLs against the local Salesforce server (tests/crm_fakes).

    .venv/bin/python bench/crm_sync.py [--eqls 20000] [--mode collections|bulk|both]

Builds a throwaway SQLite database in a temporary folder (``DATABASE_URL`` and ``EXPANSION_VAR_DIR``
set before Django starts), migrates it and bulk-loads 20 AEs and ``--eqls`` open AE EQLs, each on its
own account linked to a Salesforce Account. The Salesforce test server (the same one the tests use,
HTTPS on 127.0.0.1, in this process) knows the AEs and the accounts.

For each mode it runs ``crm_sync`` twice: the first writes every EQL, the second right after finds
nothing changed. It prints, per run: records written and unchanged, requests used (all of them) and
write requests, wall time, the time spent inside the test server's handler (its JSON and storage
work, not ours), "our side" = wall minus that, and the process's peak RSS (ours plus the in-process
server). Query logging is off (``DEBUG`` false at run time), as in production. Targets: collections
use at most ceil(n / 200) write requests, bulk one Bulk API 2.0 job; the unchanged sync makes 0 write
requests.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eqls", type=int, default=20_000)
    parser.add_argument("--mode", choices=("collections", "bulk", "both"), default="both")
    return parser.parse_args()


def setup_django(folder: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["EXPANSION_VAR_DIR"] = str(folder / "var")
    os.environ["DJANGO_DEBUG"] = "true"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expansion.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def build(n: int, fake) -> None:
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from expansion.models import EQL, Account, User

    call_command("migrate", verbosity=0)
    now = timezone.now()
    with transaction.atomic():
        aes = [
            User(username=f"ae{i}@bench.example", email=f"ae{i}@bench.example", name=f"AE {i}", role="AE")
            for i in range(20)
        ]
        User.objects.bulk_create(aes)
        aes = list(User.objects.filter(role="AE").order_by("pk"))
        for ae in aes:
            fake.add_user(ae.email)
        crm_accounts = [fake.add_account(f"Account {i}") for i in range(200)]
        accounts = [
            Account(
                account_id=f"B-{i:06d}",
                name=f"Bench {i}",
                segment="MidMarket",
                plan_tier="Professional",
                contract_arr=Decimal("48000"),
                customer_since=now.date().replace(year=now.year - 2),
                ae=aes[i % len(aes)],
                crm_account_id=crm_accounts[i % len(crm_accounts)],
            )
            for i in range(n)
        ]
        Account.objects.bulk_create(accounts, batch_size=5000)
        pks = list(Account.objects.order_by("pk").values_list("pk", "ae_id"))
        EQL.objects.bulk_create(
            [
                EQL(
                    account_id=pk,
                    owner_id=ae_id,
                    status="new",
                    score=70 + i % 30,
                    priority="high" if i % 3 == 0 else "medium",
                    primary_signal="seat_utilisation",
                    triggered_signals=[
                        {"signal": "seat_utilisation", "value": 0.93, "threshold": 0.9, "points": 40}
                    ],
                    route="ae",
                    contract_arr=Decimal("48000"),
                    estimated_expansion_arr=Decimal("9600"),
                    estimate_source="default",
                    opening_angle="Your team is at 93% of its seats.",
                    discovery_questions=["Who is waiting for a seat?"],
                    created_at=now,
                    updated_at=now,
                    sla_deadline=now,
                )
                for i, (pk, ae_id) in enumerate(pks)
            ],
            batch_size=5000,
        )


def timed_handler(fake) -> list[float]:
    """Wrap the test server's handler to add up the time it spends (what is not our side)."""
    spent = [0.0]
    inner = fake.handle

    def handle(request):
        start = time.perf_counter()
        try:
            return inner(request)
        finally:
            spent[0] += time.perf_counter() - start

    fake.server.clear_all_handlers()
    import re

    fake.server.expect_request(re.compile(".*")).respond_with_handler(handle)
    return spent


def run(connection, fake, spent: list[float], label: str, n: int) -> dict:
    from routing.crm import services

    before_requests, before_writes, before_spent = len(fake.requests), fake.write_requests(), spent[0]
    start = time.perf_counter()
    summary = services.crm_sync(connection=connection, read_back=False)
    wall = time.perf_counter() - start
    server = spent[0] - before_spent
    writes = fake.write_requests() - before_writes
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:<28} written {summary.written:>6,}  unchanged {summary.unchanged:>6,}  "
        f"rejected {summary.rejected}  requests {len(fake.requests) - before_requests:>4}  "
        f"write requests {writes:>4}  wall {wall:6.1f} s  test server {server:5.1f} s  "
        f"our side {wall - server:5.1f} s  peak RSS {peak_mb:,.0f} MB",
        flush=True,
    )
    return {"written": summary.written, "writes": writes, "state": summary.state}


def main() -> None:
    args = parse_args()
    folder = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    try:
        setup_django(folder)
        from tests.crm_fakes.fixtures import make_certificate, salesforce_server
        from tests.crm_fakes.salesforce import SalesforceFake

        cert, key = make_certificate(folder)
        os.environ["REQUESTS_CA_BUNDLE"] = cert
        server = salesforce_server(cert, key)
        fake = SalesforceFake(server)
        spent = timed_handler(fake)
        build(args.eqls, fake)

        from django.conf import settings

        from routing.crm import services
        from routing.crm.models import CrmConnection, CrmLink

        settings.DEBUG = False  # no query log, as in production
        settings.SALESFORCE_CLIENT_ID, settings.SALESFORCE_CLIENT_SECRET = fake.client_id, fake.client_secret
        settings.SALESFORCE_DOMAIN = fake.instance_url
        settings.CRM_BULK_POLL_SECONDS = 0.2
        modes = ("collections", "bulk") if args.mode == "both" else (args.mode,)
        print(f"{args.eqls:,} open EQLs, Salesforce Opportunity, API v62.0", flush=True)
        for mode in modes:
            CrmLink.objects.all().delete()
            fake.objects["Opportunity"].clear()
            connection = CrmConnection.objects.create(
                name=f"bench-{mode}",
                kind="salesforce",
                object_type="Opportunity",
                upsert_key="EQL_Id__c",
                auto_create_routes=["ae"],
                bulk_threshold=10**9 if mode == "collections" else 2000,
            )
            services.mapping_defaults_apply(connection=connection)
            first = run(connection, fake, spent, f"{mode}: first sync", args.eqls)
            second = run(connection, fake, spent, f"{mode}: unchanged sync", args.eqls)
            limit = math.ceil(args.eqls / 200) if mode == "collections" else 1
            kind = "collection requests" if mode == "collections" else "bulk jobs"
            jobs = sum(
                1 for r in fake.requests if r["method"] == "POST" and r["path"].endswith("/jobs/ingest")
            )
            used = first["writes"] if mode == "collections" else jobs
            print(
                f"  target: at most {limit} {kind} -> {used}; unchanged sync writes 0 -> {second['writes']}",
                flush=True,
            )
            connection.delete()
        server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
