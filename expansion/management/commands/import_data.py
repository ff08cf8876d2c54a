"""manage.py import_data DIR: load the warehouse export (contract.md)."""

import json as jsonlib
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from expansion.services import import_directory


class Command(BaseCommand):
    help = "Load users, accounts, usage, activities and expansions CSVs from a warehouse export folder."

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--json", action="store_true", help="Print the per-file counts as JSON.")

    def handle(self, directory: Path, **options):
        as_json = options["json"]
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a folder; pass the folder holding the export CSVs")
        show_progress = not as_json and sys.stderr.isatty()
        started = time.monotonic()

        def progress(name: str, rows: int, done: int, total: int) -> None:
            if not show_progress:
                return
            pct = f"{100 * done / total:5.1f}%" if total else ""
            rate = rows / max(time.monotonic() - started, 1e-6)
            sys.stderr.write(f"\r{name:<16} {pct} {rows:>12,} rows  {rate:>10,.0f} rows/s")
            sys.stderr.flush()

        results, rejected = import_directory(directory=directory, progress_callback=progress)
        if show_progress:
            sys.stderr.write("\n")
        if not results and not rejected:
            raise CommandError(
                f"no export files found in {directory} (users.csv, accounts.csv, usage.csv, ...)"
            )
        payload = {"files": {name: r.as_dict() for name, r in results.items()}}
        if as_json:
            self.stdout.write(_dumps(payload))
        else:
            for name, r in results.items():
                self.stdout.write(
                    f"{name}: {r.rows} rows, {r.created} created, {r.updated} updated ({r.seconds:.1f}s)"
                )
        if rejected:
            for exc in rejected:
                self.stderr.write(str(exc))
                for line in exc.errors:
                    self.stderr.write(f"  {line}")
            raise CommandError(f"{len(rejected)} file(s) rejected; fix the rows above and import again")


def _dumps(payload) -> str:
    return jsonlib.dumps(payload, indent=2)
