"""The weekly pipeline digest each AE and CSM receives (seed 001's "Weekly Expansion Pipeline").

``compose_digest`` is pure: plain rows in, subject and body out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from expansion.formatting import day, key_label, money
from expansion.statuses import OPEN

TOP_N = 5


@dataclass(frozen=True)
class DigestRow:
    account_name: str
    status: str
    score: int
    primary_signal: str
    estimate: Decimal
    contract_arr: Decimal
    created_at: dt.datetime
    closed_at: dt.datetime | None
    won_arr: Decimal | None
    sla_breached: bool
    csm_name: str


@dataclass(frozen=True)
class Digest:
    new: int
    open: int
    open_value: Decimal
    closed: int
    won_value: Decimal
    sla_misses: int
    top: tuple[DigestRow, ...]


def summarise(rows: Sequence[DigestRow], week_start: dt.datetime, week_end: dt.datetime) -> Digest:
    """New = created in the week; open = open now; closed = closed in the week; SLA misses = open or
    closed-in-week EQLs whose SLA was breached; top = the open EQLs with the highest scores."""
    in_week = lambda t: t is not None and week_start <= t < week_end  # noqa: E731
    open_rows = [r for r in rows if r.status in OPEN]
    closed = [r for r in rows if r.status not in OPEN and in_week(r.closed_at)]
    top = sorted(open_rows, key=lambda r: (-r.score, -r.estimate, r.account_name))[:TOP_N]
    return Digest(
        new=sum(1 for r in rows if in_week(r.created_at)),
        open=len(open_rows),
        open_value=sum((r.estimate for r in open_rows), Decimal(0)),
        closed=len(closed),
        won_value=sum((r.won_arr or Decimal(0) for r in closed if r.status == "won"), Decimal(0)),
        sla_misses=sum(1 for r in [*open_rows, *closed] if r.sla_breached),
        top=tuple(top),
    )


def compose_digest(
    *, name: str, week_start: dt.date, digest: Digest, link: str, currency: str = ""
) -> tuple[str, str]:
    """Subject and body; dates and amounts in the app's one format (``expansion.formatting``), amounts
    in ``currency`` (the reporting currency)."""

    def cash(value: Decimal) -> str:
        return money(value, currency=currency)

    subject = f"Weekly expansion pipeline, week of {day(week_start)}: {digest.open} open, {digest.new} new"
    lines = [
        f"Hi {name},",
        "",
        f"WEEKLY EXPANSION PIPELINE - week of {day(week_start)}",
        f"- New EQLs this week: {digest.new}",
        f"- Open: {digest.open} | estimated {cash(digest.open_value)}",
        f"- Closed this week: {digest.closed} | won {cash(digest.won_value)}",
        f"- SLA misses: {digest.sla_misses}",
        "",
        f"Hottest opportunities (top {TOP_N} by score):",
    ]
    if not digest.top:
        lines.append("  none open right now")
    for rank, r in enumerate(digest.top, start=1):
        lines.append(
            f"  {rank}. {r.account_name} | score {r.score} | {key_label(r.primary_signal)} | "
            f"estimate {cash(r.estimate)} of {cash(r.contract_arr)} ARR | {key_label(r.status).lower()}"
            + (f" | CSM {r.csm_name}" if r.csm_name else "")
        )
    lines += ["", f"Your queue: {link}"]
    return subject, "\n".join(lines)
