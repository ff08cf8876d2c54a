"""manage.py config export | config apply FILE [--dry-run] [--user EMAIL] [--skip-backtest]

The playbook configuration (signals, gates, policies, routing rules...) as a YAML file: ``export`` prints
it, ``apply`` validates a file, prints the changes and their backtest, and writes all of it or nothing
(``scoring.config_files``; the format is in docs/contract.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from expansion.models import User
from scoring import config_files


class Command(BaseCommand):
    help = "Export the playbook configuration as YAML, or apply a YAML file (all or nothing)."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{export,apply}")
        actions.add_parser("export", help="Print the configuration as YAML (> file.yaml).")
        apply = actions.add_parser("apply", help="Apply a YAML file: validate, show the changes, write.")
        apply.add_argument("file", help="The YAML file ('-': standard input).")
        apply.add_argument("--dry-run", action="store_true", help="Show the changes; write nothing.")
        apply.add_argument("--user", metavar="EMAIL", help="Record the change history under this user.")
        apply.add_argument("--skip-backtest", action="store_true", help="Do not replay the history.")

    def handle(self, *args, **options):
        if options["action"] == "export":
            try:
                self.stdout.write(config_files.config_export(), ending="")
            except config_files.ConfigExportError as exc:
                raise CommandError(str(exc)) from exc
            return
        self._apply(options)

    def _apply(self, options) -> None:
        name = options["file"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{name}: cannot read the file: {exc}") from exc
        by = None
        if options["user"]:
            by = User.objects.filter(email__iexact=options["user"]).first()
            if by is None:
                raise CommandError(f"--user: nobody has the email {options['user']}")
        result = config_files.config_apply(
            text=text,
            name="<stdin>" if name == "-" else name,
            dry_run=options["dry_run"],
            by=by,
            backtest=not options["skip_backtest"],
        )
        if not result.ok:
            for line in result.errors:
                self.stderr.write(line)
            raise CommandError(f"{len(result.errors)} error(s); nothing was changed.")
        if not result.diff:
            self.stdout.write(f"No changes: the saved configuration already matches {name}.")
            return
        self.stdout.write(f"Changes ({len(result.diff)}):")
        for line in result.diff:
            self.stdout.write(f"  {line}")
        for line in result.backtest:
            self.stdout.write(line)
        if result.dry_run:
            self.stdout.write("Dry run: nothing was changed.")
        else:
            self.stdout.write(f"Applied {len(result.diff)} change(s) from {name}.")
