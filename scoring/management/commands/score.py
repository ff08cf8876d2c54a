"""manage.py score [--as-of DATE] [--json]: one scoring pass (the hourly job, run by hand)."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from scoring.services import pass_summary, scoring_pass_run


class Command(BaseCommand):
    help = "Run one scoring pass: evaluate every account, create/update EQLs, open CSM review items."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Behave as if run on this date (YYYY-MM-DD); default now.")
        parser.add_argument("--chunk-size", type=int, help="Accounts per chunk (default SCORING_CHUNK_SIZE).")
        parser.add_argument("--json", action="store_true", help="Print the pass summary as JSON.")

    def handle(self, *args, **options):
        as_of = None
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(f"--as-of {options['as_of']!r} is not a date (YYYY-MM-DD)") from exc
        scoring_pass = scoring_pass_run(as_of=as_of, chunk_size=options["chunk_size"])
        summary = pass_summary(scoring_pass)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(
                f"Scored {summary['accounts_scored']} accounts as of {summary['as_of']}: "
                f"{summary['eqls_created']} EQLs created, {summary['eqls_updated']} updated, "
                f"{summary['eqls_unchanged']} unchanged, {summary['csm_reviews_created']} CSM review items "
                f"({summary['seconds']:.1f}s)"
            )
