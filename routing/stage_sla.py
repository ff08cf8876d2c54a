"""Per-stage SLAs of the EQL lifecycle: when an EQL must leave its current stage. Pure: no ORM, no settings.

The CSQL pipeline of seed 002 maps onto the EQL lifecycle (domain.md, "Lifecycle") like this:

| seed 002 stage | its SLA           | EQL status it maps to | the stage is left by          |
| -------------- | ----------------- | --------------------- | ----------------------------- |
| CSQL Created   | 48 hours          | ``new``               | the first touch (contacted)   |
| Qualified      | 5 business days   | ``contacted``         | a call booked                 |
| Proposal Sent  | 10 business days  | ``call_booked``       | the proposal sent             |
| Negotiation    | 15 business days  | ``proposal_sent``     | the close (won, lost)         |

"Trigger Fired" is the scoring pass (immediate) and "Closed-Won/Lost" has no SLA.

Rules:

- A stage with ``hours`` counts plain clock hours from the stage entry (the first-touch stage).
- Otherwise ``business_days`` count Monday to Friday in the account's time zone: the due time is the
  entry's local time of day, that many weekdays later. An entry on a Saturday or Sunday starts at
  Monday 00:00 local (the clock does not run over a weekend). Holidays are not known.
- Breached: the EQL is still in the stage and ``now`` is past the due time; ``overdue`` is how long.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from expansion.statuses import CALL_BOOKED, CONTACTED, NEW, PROPOSAL_SENT

#: Saturday and Sunday (``date.weekday()``).
WEEKEND = (5, 6)


@dataclass(frozen=True)
class StageSlaSpec:
    """How long an EQL may stay in one status: ``hours`` when set, else ``business_days``."""

    status: str
    business_days: int = 0
    hours: int | None = None


#: Seed 002's CSQL pipeline SLAs on the EQL statuses (the migration seeds the admin rows from these).
DEFAULT_STAGE_SLAS = (
    StageSlaSpec(NEW, business_days=2, hours=48),
    StageSlaSpec(CONTACTED, business_days=5),
    StageSlaSpec(CALL_BOOKED, business_days=10),
    StageSlaSpec(PROPOSAL_SENT, business_days=15),
)


def zone(name: str | None, default: str = "UTC") -> dt.tzinfo:
    """The IANA zone ``name``; ``default`` when blank or unknown (a bad value never breaks a page)."""
    for candidate in (name, default, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return dt.UTC


def add_business_days(start: dt.datetime, days: int, tz: dt.tzinfo) -> dt.datetime:
    """``start`` plus ``days`` weekdays (Mon-Fri) in ``tz``, at the same local time of day.

    A start on a weekend counts from the following Monday 00:00 local. Returns an aware datetime in ``tz``."""
    local = start.astimezone(tz)
    day = local.date()
    clock = local.time().replace(tzinfo=None)
    if day.weekday() in WEEKEND:
        day += dt.timedelta(days=7 - day.weekday())
        clock = dt.time(0, 0)
    remaining = days
    while remaining > 0:
        day += dt.timedelta(days=1)
        if day.weekday() not in WEEKEND:
            remaining -= 1
    # Built from the wall-clock date and time, so a DST change on the way keeps the local hour.
    return dt.datetime.combine(day, clock, tzinfo=tz)


def stage_due(*, entered_at: dt.datetime, spec: StageSlaSpec, tz: dt.tzinfo) -> dt.datetime:
    """When an EQL that entered ``spec.status`` at ``entered_at`` must have left it (rules above)."""
    if spec.hours is not None:
        return entered_at + dt.timedelta(hours=spec.hours)
    return add_business_days(entered_at, spec.business_days, tz)


@dataclass(frozen=True)
class StageClock:
    """One EQL's current stage at ``now``: when it is due and, when breached, by how much."""

    status: str
    entered_at: dt.datetime
    due: dt.datetime
    overdue: dt.timedelta | None

    @property
    def breached(self) -> bool:
        return self.overdue is not None


def stage_clock(
    *,
    status: str,
    entered_at: dt.datetime | None,
    now: dt.datetime,
    specs: Mapping[str, StageSlaSpec],
    tz: dt.tzinfo,
) -> StageClock | None:
    """The stage clock of an EQL in ``status`` since ``entered_at``; None when the status has no SLA
    (closed statuses, or a stage RevOps left without one) or the entry time is unknown."""
    spec = specs.get(status)
    if spec is None or entered_at is None or (spec.hours is None and spec.business_days <= 0):
        return None
    due = stage_due(entered_at=entered_at, spec=spec, tz=tz)
    return StageClock(status, entered_at, due, now - due if now > due else None)


def overdue_label(delta: dt.timedelta) -> str:
    """How long overdue, short: ``3d 4h``, ``5h``, ``12m``."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h"
    return f"{max(mins, 1)}m"


@dataclass(frozen=True)
class StageRow:
    """What the breach count reads of one open EQL."""

    owner_id: int | None
    status: str
    entered_at: dt.datetime | None
    timezone: str


def breach_counts(
    rows: list[StageRow], *, specs: Mapping[str, StageSlaSpec], now: dt.datetime, default_tz: str
) -> dict[int | None, dict[str, int]]:
    """Open EQLs past their stage SLA at ``now``, counted per owner and per status (owners with none
    are left out)."""
    zones: dict[str, dt.tzinfo] = {}
    out: dict[int | None, dict[str, int]] = {}
    for row in rows:
        tz = zones.setdefault(row.timezone, zone(row.timezone, default_tz))
        clock = stage_clock(status=row.status, entered_at=row.entered_at, now=now, specs=specs, tz=tz)
        if clock is not None and clock.breached:
            per_stage = out.setdefault(row.owner_id, {})
            per_stage[row.status] = per_stage.get(row.status, 0) + 1
    return out
