"""manage.py sync_source [NAME] [--json]: read the warehouse source(s) and load what is new."""

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from expansion.sources.services import SourceError, source_sync_all


class Command(BaseCommand):
    help = "Sync one warehouse source (or every enabled one): new rows of users, accounts, usage, ..."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="The source's name (admin: Warehouse sources).")
        parser.add_argument("--json", action="store_true", help="Print per-input counts as JSON.")

    def handle(self, name=None, **options):
        try:
            results = source_sync_all(name=name)
        except SourceError as exc:
            raise CommandError(str(exc)) from exc
        if not results:
            raise CommandError("no warehouse source configured; add one in admin or set WAREHOUSE_SOURCE_URL")
        payload = {r.source: r.as_dict() for r in results}
        if options["json"]:
            self.stdout.write(jsonlib.dumps(payload, indent=2))
        else:
            for source, inputs in payload.items():
                for input_name, r in inputs.items():
                    self.stdout.write(
                        f"{source} {input_name}: {r['rows']} rows, {r['created']} created, "
                        f"{r['updated']} updated ({r['seconds']:.1f}s)"
                    )
        bad = [r for r in results if not r.ok]
        for r in bad:
            for message in r.failed:
                self.stderr.write(message)
            for exc in r.rejected:
                self.stderr.write(str(exc))
                for line in exc.errors:
                    self.stderr.write(f"  {line}")
        if bad:
            raise CommandError(
                f"{sum(len(r.rejected) + len(r.failed) for r in bad)} input(s) not loaded; "
                "fix the rows above and sync again (nothing from those inputs was written)"
            )
