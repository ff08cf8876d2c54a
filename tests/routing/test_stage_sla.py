"""Stage SLAs: due times in business days across a weekend and in the account's time zone (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from routing.stage_sla import DEFAULT_STAGE_SLAS, StageSlaSpec, stage_clock, stage_due, zone

SPECS = {s.status: s for s in DEFAULT_STAGE_SLAS}
UTC = dt.UTC


@pytest.mark.parametrize(
    ("entered", "days", "tz", "due"),
    [
        # Friday 15:00 UTC + 5 business days: the weekend is skipped, next Friday 15:00.
        (dt.datetime(2026, 3, 6, 15, tzinfo=UTC), 5, "UTC", dt.datetime(2026, 3, 13, 15, tzinfo=UTC)),
        # Friday 15:00 UTC + 1: Monday 15:00.
        (dt.datetime(2026, 3, 6, 15, tzinfo=UTC), 1, "UTC", dt.datetime(2026, 3, 9, 15, tzinfo=UTC)),
        # Saturday entry starts Monday 00:00: + 1 business day is Tuesday 00:00.
        (dt.datetime(2026, 3, 7, 10, tzinfo=UTC), 1, "UTC", dt.datetime(2026, 3, 10, 0, tzinfo=UTC)),
        # Friday 23:30 UTC is Saturday 08:30 in Tokyo: the clock starts Monday 00:00 Tokyo.
        (
            dt.datetime(2026, 3, 6, 23, 30, tzinfo=UTC),
            1,
            "Asia/Tokyo",
            dt.datetime(2026, 3, 9, 15, 0, tzinfo=UTC),  # Tuesday 00:00 JST
        ),
    ],
)
def test_business_day_due_time(entered, days, tz, due):
    spec = StageSlaSpec("contacted", business_days=days)
    assert stage_due(entered_at=entered, spec=spec, tz=zone(tz)) == due


def test_first_touch_stage_counts_clock_hours_and_breach_says_how_long():
    entered = dt.datetime(2026, 3, 6, 15, tzinfo=UTC)
    now = entered + dt.timedelta(hours=51)
    clock = stage_clock(status="new", entered_at=entered, now=now, specs=SPECS, tz=zone(""))
    assert clock.due == entered + dt.timedelta(hours=48)
    assert clock.overdue == dt.timedelta(hours=3)
    assert stage_clock(status="won", entered_at=entered, now=now, specs=SPECS, tz=zone("")) is None


def test_unknown_zone_falls_back_to_the_default():
    assert zone("Mars/Olympus", "Europe/Berlin").key == "Europe/Berlin"
