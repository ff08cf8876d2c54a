"""manage.py seed_demo: write a realistic demo warehouse export and import it (contract.md)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards import demo_history
from expansion import demo, demo_presets, services
from expansion.models import Account
from expansion.services import ImportRejected
from scoring import config_files


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--as-of: cannot read {text!r} as an ISO date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = (
        "Write a realistic demo export (users, accounts, 100 days of usage, 13 months of activities and "
        "expansions) into a folder, import it the way users do, and set demo passwords."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=demo.DEFAULT_SEED, help="Random seed (default 42).")
        parser.add_argument(
            "--accounts", type=int, default=demo.DEFAULT_ACCOUNTS, help="Number of accounts (default 1500)."
        )
        parser.add_argument(
            "--out", type=Path, default=None, help="Folder for the CSVs (default var/demo-export)."
        )
        parser.add_argument(
            "--as-of", type=_date, default=None, help="Last usage day, YYYY-MM-DD (default today)."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any account already exists."
        )
        parser.add_argument("--quiet", action="store_true", help="Print nothing (no password table).")
        parser.add_argument(
            "--preset",
            choices=demo_presets.preset_names(),
            default="",
            help="Apply presets/<name>.yaml (its signals, gates, routing and SLAs) and add the demo data "
            "its triggers read, so they fire (default: the configuration as it is).",
        )
        parser.add_argument(
            "--history-weeks",
            type=int,
            default=demo_history.HISTORY_WEEKS,
            help="Weekly past passes to replay, with reps working their EQLs, after 13 months of earlier "
            "EQLs (default 10; 0 for neither).",
        )

    def handle(self, *args, **options):
        quiet = options["quiet"]
        if options["if_empty"] and Account.objects.exists():
            if not quiet:
                self.stdout.write("seed_demo: accounts already exist; nothing to do (--if-empty).")
            return
        if options["accounts"] < 1:
            raise CommandError("--accounts must be at least 1")
        out = options["out"] or Path(settings.VAR_DIR) / "demo-export"
        as_of = options["as_of"] or timezone.localdate()
        # The importer logs one INFO line per file; the summary below says the same once.
        services_logger = logging.getLogger("expansion.services")
        level = services_logger.level
        services_logger.setLevel(max(logging.WARNING, level))
        preset = options["preset"]
        if preset:
            self._apply_preset(preset)
        try:
            result = services.demo_seed(
                directory=out, seed=options["seed"], accounts=options["accounts"], as_of=as_of, preset=preset
            )
        except ImportRejected as exc:
            for line in exc.errors[:20]:
                self.stderr.write(f"  {line}")
            raise CommandError(str(exc)) from exc
        finally:
            services_logger.setLevel(level)
        history = earlier = None
        if options["history_weeks"] > 0:
            history = demo_history.demo_history_replay(
                until=as_of, seed=options["seed"], weeks=options["history_weeks"]
            )
            earlier = demo_history.demo_earlier_eqls(
                until=as_of, seed=options["seed"], weeks=options["history_weeks"]
            )
        if quiet:
            return
        if preset:
            self.stdout.write(f"Preset {preset}: presets/{preset}.yaml applied.")
        self.stdout.write(
            f"Demo export (seed {options['seed']}, as of {as_of:%Y-%m-%d}) written to {result.directory} "
            f"in {result.generate_seconds + result.write_seconds:.1f}s and imported in "
            f"{result.import_seconds:.1f}s:"
        )
        for name, r in result.files.items():
            self.stdout.write(
                f"  {name:<16} {r.rows:>9,} rows  {r.created:>9,} created  {r.updated:>7,} updated"
            )
        if history is not None:
            worked = ", ".join(
                f"{n} {event.replace('_', ' ')}" for event, n in sorted(history.events.items())
            )
            self.stdout.write(
                f"  history: {history.passes} weekly passes, {history.eqls} EQLs worked by their owners "
                f"({worked or 'no events'})"
            )
        if earlier is not None:
            worked = ", ".join(
                f"{n} {event.replace('_', ' ')}" for event, n in sorted(earlier.events.items())
            )
            self.stdout.write(
                f"  earlier months: {earlier.eqls} EQLs recorded before the usage export begins, each "
                f"worked to its end ({worked or 'no events'})"
            )
        width = max(len(email) for email, _, _ in result.passwords)
        self.stdout.write("")
        self.stdout.write("Demo logins (shown once; RevOps also has the admin at /admin/):")
        self.stdout.write(f"  {'email':<{width}}  {'role':<8}  password")
        for email, role, password in result.passwords:
            self.stdout.write(f"  {email:<{width}}  {role:<8}  {password}")

    def _apply_preset(self, preset: str) -> None:
        path = Path(settings.BASE_DIR) / "presets" / f"{preset}.yaml"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"--preset {preset}: cannot read {path}: {exc.strerror}") from exc
        result = config_files.config_apply(
            text=text, name=f"presets/{preset}.yaml", dry_run=False, backtest=False
        )
        if not result.ok:
            for line in result.errors[:20]:
                self.stderr.write(f"  {line}")
            raise CommandError(f"--preset {preset}: presets/{preset}.yaml was not applied")
