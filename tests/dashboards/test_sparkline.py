"""The EQL page's inline SVG sparkline (dashboards.sparkline, pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards import sparkline

DAY = dt.date(2026, 3, 1)


def days(n: int) -> list[dt.date]:
    return [DAY + dt.timedelta(days=i) for i in range(n)]


def test_points_span_the_box_and_the_threshold_line_sits_on_its_value():
    # given seat use rising from 80% to 100% over 3 days, threshold 90%
    line = sparkline.build(days(3), [0.8, 0.9, 1.0], threshold=0.9, percent=True, width=100, height=48)

    # then the first point is bottom left, the last top right, the threshold halfway
    assert line.points == "0,44 50,24 100,4"
    assert line.threshold_y == 24
    assert (line.top_label, line.bottom_label, line.threshold_label) == ("100%", "80%", "90%")
    assert (line.lowest.label, line.highest.label, line.latest.label) == ("80%", "100%", "100%")
    assert line.lowest.day == DAY
    assert line.latest.day == DAY + dt.timedelta(days=2)


def test_a_threshold_above_every_value_is_still_in_view():
    # given counts well under a threshold of 1,000
    line = sparkline.build(days(2), [100, 300], threshold=1000, width=10, height=18)

    # then the threshold is the top of the box and the labels are counts
    assert line.threshold_y == 4
    assert (line.top_label, line.bottom_label) == ("1,000", "100")
    assert line.points == "0,14 10,11.78"  # 4 + (1000 - 300) / 900 * 10


def test_a_flat_line_is_drawn_mid_height_and_gaps_in_days_keep_their_width():
    # given the same value on day 0, 1 and 4
    dates = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=4)]
    line = sparkline.build(dates, [5, 5, 5], width=40, height=20)

    # then
    assert line.points == "0,10 10,10 40,10"
    assert line.threshold_y is None
    assert line.threshold_label == ""


def test_fewer_than_two_points_draw_nothing_and_mismatched_input_is_refused():
    assert sparkline.build(days(1), [3.0]) is None
    assert sparkline.build([], []) is None
    with pytest.raises(ValueError, match="2 dates for 3 values"):
        sparkline.build(days(2), [1, 2, 3])
