"""manage.py coverage [--as-of DATE] [--json] [--csv PATH] [--trend]: the coverage diagnostic."""

import datetime as dt
import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dashboards.metrics import CoverageResult
from dashboards.selectors import coverage_for, coverage_trend_for


class Command(BaseCommand):
    help = (
        "Coverage diagnostic: how many expansion-ready accounts had a commercial conversation in the "
        "last 365 days, which ones nobody touched in 182 days, and what that gap may be worth."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Date of the diagnostic (YYYY-MM-DD); default today.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--csv", type=Path, help="Write the untouched expansion-ready accounts to this CSV."
        )
        parser.add_argument(
            "--trend", action="store_true", help="Add the coverage rate at each month end of the history."
        )

    def handle(self, **options):
        as_of = timezone.localdate()
        if options["as_of"]:
            try:
                as_of = dt.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(f"--as-of {options['as_of']!r} is not a date (YYYY-MM-DD)") from exc
        result = coverage_for(as_of)
        trend = coverage_trend_for(end=as_of) if options["trend"] else None
        if options["csv"]:
            try:
                result.untouched_table.to_csv(options["csv"], index=False)
            except OSError as exc:
                raise CommandError(f"cannot write {options['csv']}: {exc.strerror}") from exc
        if options["json"]:
            payload = result.to_json()
            if trend is not None:
                payload["trend"] = trend
            self.stdout.write(jsonlib.dumps(payload, indent=2))
            return
        self.stdout.write(_summary(result))
        if trend:
            self.stdout.write("\nMonth    Eligible  Ready  Covered  Coverage")
            for p in trend:
                self.stdout.write(
                    f"{p['month']}  {p['eligible']:>8}  {p['expansion_ready']:>5}  {p['covered']:>7}"
                    f"  {p['coverage_rate']:>8.1%}"
                )
        if options["csv"]:
            self.stdout.write(f"\nWrote {result.untouched} untouched accounts to {options['csv']}")


def _summary(r: CoverageResult) -> str:
    lines = [
        f"Coverage diagnostic as of {r.as_of.isoformat()}",
        f"  Eligible accounts (active, tenure > 182 days): {r.eligible}",
        f"  Expansion-ready (top quartile on >= {r.min_top} of {len(r.dimensions)} dimensions): "
        f"{r.expansion_ready}",
        f"  Covered (commercial touch in the last 365 days): {r.covered}"
        f"  coverage rate {r.coverage_rate:.1%}",
        f"  Untouched (no commercial touch in the last 182 days): {r.untouched}",
        "",
        f"Top-quartile cuts (quantile {r.quantile:g}):",
    ]
    for d, cut in zip(r.dimensions, r.cuts, strict=True):
        lines.append(f"  {d.name:<20} >= {'n/a' if cut is None else f'{cut:,.4g}'}")
    lines += ["", "Usage quartile  Accounts  Touched  Won  Touch-to-won"]
    for q in reversed(r.quartiles):
        label = f"Q{q.quartile}{' (top)' if q.quartile == 4 else ''}"
        lines.append(f"  {label:<12}  {q.accounts:>8}  {q.touched:>7}  {q.won:>3}  {q.conversion:>12.1%}")
    lines += [
        "",
        f"Opportunity in the untouched (median won expansion ARR {r.median_won_expansion_arr:,.2f}):",
    ]
    for s in r.scenarios:
        lines.append(f"  {s.name:<12} {s.accounts} x {s.attach_rate:.1%} = {s.estimate:,.2f}")
    if r.by_segment:
        lines += ["", "Segment       Eligible  Ready  Covered  Coverage  Untouched"]
        for name, row in r.by_segment:
            lines.append(
                f"  {name:<10}  {row['eligible']:>8}  {row['expansion_ready']:>5}  {row['covered']:>7}"
                f"  {row['coverage_rate']:>8.1%}  {row['untouched']:>9}"
            )
    if r.untouched_account_ids:
        shown = ", ".join(r.untouched_account_ids[:20])
        more = len(r.untouched_account_ids) - 20
        lines += ["", f"Untouched accounts: {shown}{f' (+{more} more; use --csv)' if more > 0 else ''}"]
    return "\n".join(lines)
