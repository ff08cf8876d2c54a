"""manage.py list_eqls [--status open|closed|all] [--json]: EQL records in the contract's shape."""

import json

from django.core.management.base import BaseCommand

from expansion.models import CLOSED_STATUSES, OPEN_STATUSES
from expansion.records import eql_queryset, eql_record


class Command(BaseCommand):
    help = "List EQL records."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=["open", "closed", "all"], default="open")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        qs = eql_queryset().order_by("-score", "sla_deadline", "pk")
        if options["status"] == "open":
            qs = qs.filter(status__in=OPEN_STATUSES)
        elif options["status"] == "closed":
            qs = qs.filter(status__in=CLOSED_STATUSES)
        records = [eql_record(e) for e in qs.iterator(chunk_size=2000)]
        if options["json"]:
            self.stdout.write(json.dumps(records, indent=2))
            return
        for r in records:
            owner = r["owner_email"] or "-"
            self.stdout.write(
                f"{r['id']:>6} {r['account_id']:<24} {r['status']:<13} {r['route']:<11} "
                f"score {r['score']:>3} {r['primary_signal']:<20} "
                f"est {r['estimated_expansion_arr']:>12,.0f} {owner}"
            )
        self.stdout.write(f"{len(records)} EQL(s)")
