"""manage.py backtest --start DATE --end DATE [--step-days N] [--json] [--set key.field=value ...]."""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError

from dashboards import backtest_runs
from scoring import backtest as bt
from scoring import backtest_services as services


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"cannot read {text!r} as a date (YYYY-MM-DD)") from exc


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


class Command(BaseCommand):
    help = (
        "Replay the signal model over stored history (weekly by default) and report precision, recall, "
        "EQLs per week, by signal and by owner. --set tries an edited threshold without saving it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, type=_date, help="First step date (YYYY-MM-DD).")
        parser.add_argument("--end", required=True, type=_date, help="Last step date at most (YYYY-MM-DD).")
        parser.add_argument("--step-days", type=int, default=bt.DEFAULT_STEP_DAYS, help="Days between steps.")
        parser.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY.FIELD=VALUE",
            help="Override a signal or policy field for this run only, e.g. seat_utilisation.threshold=0.95 "
            "or policy.score_threshold=70 (repeatable). Nothing is saved.",
        )
        parser.add_argument(
            "--match-window-days",
            type=int,
            default=bt.DEFAULT_MATCH_WINDOW_DAYS,
            help="An expansion created this many days after a simulated EQL matches it (default 90).",
        )
        parser.add_argument(
            "--won-only", action="store_true", help="Count only won expansions (default: won or open)."
        )
        parser.add_argument("--save", metavar="LABEL", help="Also store the result as a backtest run.")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        try:
            overrides = dict(bt.parse_override(text) for text in options["overrides"])
            config = services.config_with_overrides(overrides)
            bt.step_dates(options["start"], options["end"], options["step_days"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["match_window_days"] < 1:
            raise CommandError("--match-window-days must be at least 1")
        result = services.backtest_run(
            start=options["start"],
            end=options["end"],
            step_days=options["step_days"],
            config=config,
            match_window_days=options["match_window_days"],
            won_only=options["won_only"],
        )
        if options["save"] is not None:
            from dashboards.models import BacktestRun

            params = services.run_params(
                start=options["start"],
                end=options["end"],
                step_days=options["step_days"],
                overrides=overrides,
                match_window_days=options["match_window_days"],
                won_only=options["won_only"],
            )
            run = backtest_runs.backtest_run_create(params=params, label=options["save"])
            BacktestRun.objects.filter(pk=run.pk).update(
                status=BacktestRun.Status.DONE, progress=100, result=result
            )
            result = {**result, "run_id": run.pk}
        if options["json"]:
            self.stdout.write(json.dumps(services.contract_summary(result), indent=2))
            return
        self._print(result, overrides)

    def _print(self, r: dict, overrides: dict) -> None:
        w = self.stdout.write
        w(
            f"Backtest {r['start']} .. {r['end']} every {r['step_days']} days ({r['steps']} steps, "
            f"{r['accounts']:,} accounts, {r['seconds']:.1f}s)"
        )
        if overrides:
            w("  overrides: " + ", ".join(f"{k}={v}" for k, v in overrides.items()))
        w(
            f"  EQLs {r['eqls']:,} ({r['eqls_per_week']:.1f}/week), matched {r['matched_eqls']:,}, "
            f"pending {r['pending_eqls']:,}; CSM review items {r['csm_reviews']:,}"
        )
        w(f"  precision {_percent(r['precision'])} (settled {_percent(r['precision_settled'])})")
        w(
            f"  recall {_percent(r['recall'])}: {r['matched_expansions']:,} of {r['expansions']:,} "
            f"expansions ({'/'.join(r['counted_statuses'])}) preceded by an EQL within "
            f"{r['match_window_days']} days"
        )
        w("  by signal:")
        for key, s in r["by_signal"].items():
            precision = _percent(s["precision"])
            w(f"    {key:<24} {s['eqls']:>6,} EQLs  {s['matched']:>5,} matched  precision {precision}")
        over = [o for o in r["by_owner"] if o["steps_over_capacity"]]
        if over:
            w("  owners over capacity:")
            for o in over:
                who = o["email"] or o["owner_id"]
                w(
                    f"    {who}: peak {o['peak_open']} open vs capacity {o['capacity']} "
                    f"({o['steps_over_capacity']} steps)"
                )
