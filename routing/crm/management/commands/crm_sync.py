"""``manage.py crm_sync [--connection NAME] [--dry-run] [--json]``: one sync of each CRM connection."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from routing.crm import selectors, services


class Command(BaseCommand):
    help = "Write changed EQLs to the CRM connections and read back what changed there."

    def add_arguments(self, parser):
        parser.add_argument("--connection", metavar="NAME", help="only this connection (its name in admin)")
        parser.add_argument("--dry-run", action="store_true", help="print the payloads; send nothing")
        parser.add_argument("--json", action="store_true", help="print the figures as JSON")

    def handle(self, *args, connection=None, dry_run=False, **options):
        connections = selectors.connections_enabled(connection)
        if connection and not connections:
            raise CommandError(f"no enabled CRM connection named {connection!r} (see admin: CRM connections)")
        results = {c.name: services.crm_sync(connection=c, dry_run=dry_run) for c in connections}
        if dry_run:
            self.stdout.write(_dumps({name: s.payloads for name, s in results.items()}))
        elif options["json"]:
            self.stdout.write(_dumps({name: s.as_json() for name, s in results.items()}))
        else:
            for name, s in results.items():
                line = (
                    f"{name}: {s.state}; written {s.written}, unchanged {s.unchanged}, "
                    f"rejected {s.rejected}, closed from the CRM {s.closed_from_crm}, requests {s.requests}"
                )
                self.stdout.write(line + (f" ({s.message})" if s.message else ""))
        failed = [name for name, s in results.items() if s.state == "failed"]
        if failed:
            raise CommandError("; ".join(f"{n}: {results[n].message}" for n in failed))


def _dumps(data) -> str:
    return json.dumps(data, indent=2, default=str)
