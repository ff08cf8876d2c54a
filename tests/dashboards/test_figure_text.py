"""Charts' numbers as text (dashboards.figure_text): what a screen reader gets instead of a plotly chart."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from dashboards import charts
from dashboards.backtest_views import compare_chart, run_chart
from dashboards.figure_text import MAX_ROWS, figure_tables


def test_subplots_become_one_table_each_with_percentages_and_the_subplot_title():
    segments = [
        ("SMB", {"coverage_rate": 0.5, "covered": 5, "expansion_ready": 10}),
        ("Enterprise", {"coverage_rate": 0.125, "covered": 1, "expansion_ready": 8}),
    ]
    quartiles = [
        SimpleNamespace(quartile=q, touched=t, accounts=a, conversion=c, won=w)
        for q, t, a, c, w in [(1, 2, 10, 0.0, 0), (4, 9, 10, 1 / 3, 3)]
    ]

    by_segment, by_quartile = figure_tables(charts.coverage_breakdown(segments, quartiles), "Coverage")

    assert by_segment.caption == "Coverage: Coverage rate by segment"
    assert by_segment.rows == [("SMB", ["50%"]), ("Enterprise", ["12%"])]
    assert by_quartile.caption == "Coverage: By usage quartile (4 = top)"
    assert by_quartile.columns == ["Accounts touched (365 days)", "Touch-to-won conversion"]
    assert by_quartile.rows == [("Q1", ["20%", "0%"]), ("Q4", ["90%", "33%"])]


def test_lines_share_one_row_per_week_and_a_missing_point_is_a_dash():
    week1, week2 = dt.date(2026, 1, 5), dt.date(2026, 1, 12)
    rows = [
        {"signal": "", "week": week1, "accuracy": 0.5, "matured": 4},
        {"signal": "", "week": week2, "accuracy": 0.25, "matured": 4},
        {"signal": "seats", "week": week2, "accuracy": 1.0, "matured": 1},
    ]

    (table,) = figure_tables(charts.accuracy_trend(rows, {"seats": "Seat utilisation"}))

    assert table.x_label == "week of assignment"
    assert table.columns == ["All signals", "Seat utilisation"]
    assert table.rows == [("2026-01-05", ["50%", "—"]), ("2026-01-12", ["25%", "100%"])]


def test_a_histogram_becomes_its_bins_and_counts():
    (table,) = figure_tables(charts.time_to_contact_histogram([1, 2, 5, 9, 9.5], median=5, p90=9.5))

    assert table.x_label == "hours from assignment to first contact"
    assert table.columns == ["EQLs"]
    # the longest wait is under 12 h: one-hour bins
    assert table.rows == [("1 to 2", ["1"]), ("2 to 3", ["1"]), ("5 to 6", ["1"]), ("9 to 10", ["2"])]


def test_backtest_charts_on_two_axes_and_side_by_side_runs():
    weekly = [{"date": "2026-02-02", "eqls": 3, "matched": 1, "open": 7}]

    (table,) = figure_tables(run_chart({"weekly": weekly}))
    (compare,) = figure_tables(compare_chart([("Saved", {"weekly": weekly}), ("Edited", {"weekly": []})]))

    assert table.x_label == "Date"
    assert table.columns == ["New EQLs, matched", "New EQLs, not matched", "Open EQLs (right axis)"]
    assert table.rows == [("2026-02-02", ["1", "2", "7"])]
    assert compare.rows == [("2026-02-02", ["3", "—"])]


def test_long_series_keep_the_latest_rows_and_say_how_many_are_left_out():
    figure = {"data": [{"type": "scatter", "name": "n", "x": list(range(100)), "y": list(range(100))}]}

    (table,) = figure_tables(figure)

    assert len(table.rows) == MAX_ROWS
    assert table.rows[-1] == ("99", ["99"])
    assert table.more_rows == 100 - MAX_ROWS


def test_numpy_encoded_arrays_are_read():
    figure = {"data": [{"type": "bar", "x": ["a", "b"], "y": {"dtype": "i1", "bdata": "AQI="}}]}

    (table,) = figure_tables(figure)

    assert table.rows == [("a", ["1"]), ("b", ["2"])]


def test_no_figure_no_table():
    assert figure_tables(None) == []
    assert figure_tables({"data": [], "layout": {}}) == []
