"""The shared number helpers: one rule each for dates given as text, rates, money and percentages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest

from dashboards import formatting, numbers
from dashboards.templatetags import inbox as inbox_tags


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 3, 31), dt.date(2026, 3, 31)),
        (dt.datetime(2026, 3, 31, 23, 59, tzinfo=dt.UTC), dt.date(2026, 3, 31)),
        ("2026-03-31", dt.date(2026, 3, 31)),
    ],
)
def test_as_date_takes_dates_datetimes_and_iso_text(value, expected):
    assert numbers.as_date(value) == expected


def test_as_date_refuses_text_that_is_not_a_date():
    with pytest.raises(ValueError, match="Invalid isoformat"):
        numbers.as_date("31/03/2026")


def test_rate_says_what_an_empty_denominator_means():
    # The coverage JSON: 0.0 when nothing is ready; the conversion report: None, shown as "—".
    assert numbers.rate(0, 0, empty=0.0) == 0.0
    assert numbers.rate(5, 0, empty=None, digits=4) is None
    assert numbers.rate(39, 140, empty=0.0) == 0.2785714285714286
    assert numbers.rate(39, 140, empty=None, digits=4) == 0.2786
    with pytest.raises(TypeError):
        numbers.rate(1, 2)  # the caller must say what "nothing measured" is


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (48000, "48,000"),
        (Decimal("48000.49"), "48,000"),
        (Decimal("2.50"), "2"),  # half to even, on the exact amount
        (Decimal("3.50"), "4"),
        (12345.678, "12,346"),
        (np.int64(1500), "1,500"),
        (np.float64(1500.5), "1,500"),
        ("48000", "48,000"),
    ],
)
def test_money_in_whole_units(value, expected):
    assert formatting.money(value) == expected
    assert inbox_tags.money(value) == f"${expected}"  # the pages add the reporting currency (USD)


@pytest.mark.parametrize("value", [None, "", float("nan")])
def test_missing_money_and_percentages_are_a_dash_in_reports_and_blank_in_the_inbox(value):
    assert formatting.money(value) == "—"
    assert formatting.percent(value, 1) == "—"
    assert inbox_tags.money(value) == ""
    assert inbox_tags.percent(value) == ""


def test_percent_digits():
    assert formatting.percent(0.4267) == "43%"
    assert formatting.percent(0.4267, 1) == "42.7%"
    assert inbox_tags.percent(0.943) == "94%"
    assert inbox_tags.percent("0.943", "1") == "94.3%"


def test_float_or_nan():
    assert numbers.float_or_nan(Decimal("1.5")) == 1.5
    assert numbers.float_or_nan("2") == 2.0
    assert np.isnan(numbers.float_or_nan("n/a"))
    assert np.isnan(numbers.float_or_nan(None))
