"""A small line chart drawn as inline SVG on the server: the EQL page's 90-day sparkline.

Pure (no Django): takes the dates and values of one metric and returns the SVG geometry (in a
``width`` x ``height`` view box, y down) and the figures a reader needs without seeing it (lowest,
highest, latest, threshold), already formatted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 300
HEIGHT = 80
#: Room above and below the line so a stroke at the extremes is not cut in half.
PAD = 4


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: float
    label: str
    x: float
    y: float


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str
    """The polyline's ``points`` attribute."""
    first: Point
    latest: Point
    lowest: Point
    highest: Point
    threshold_y: float | None
    threshold_label: str
    top_label: str
    bottom_label: str


def format_value(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    rounded = round(value, 2)
    return f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.2f}"


def build(
    dates: Sequence[dt.date],
    values: Sequence[float],
    *,
    threshold: float | None = None,
    percent: bool = False,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Sparkline | None:
    """The sparkline of ``values`` over ``dates`` (same length, oldest first); None under two points.

    The vertical range covers the values and the threshold, so the threshold line is always drawn."""
    if len(dates) != len(values):
        raise ValueError(f"{len(dates)} dates for {len(values)} values")
    if len(values) < 2:
        return None
    extent = [*values, *([threshold] if threshold is not None else [])]
    low, high = min(extent), max(extent)
    if high == low:  # a flat line sits in the middle
        low, high = low - 1, high + 1
    span_x = (dates[-1] - dates[0]).days or 1

    def x_of(day: dt.date) -> float:
        return round((day - dates[0]).days / span_x * width, 2)

    def y_of(value: float) -> float:
        return round(PAD + (high - value) / (high - low) * (height - 2 * PAD), 2)

    points = [
        Point(d, v, format_value(v, percent), x_of(d), y_of(v)) for d, v in zip(dates, values, strict=True)
    ]
    return Sparkline(
        width=width,
        height=height,
        points=" ".join(f"{p.x:g},{p.y:g}" for p in points),
        first=points[0],
        latest=points[-1],
        lowest=min(points, key=lambda p: p.value),
        highest=max(points, key=lambda p: p.value),
        threshold_y=y_of(threshold) if threshold is not None else None,
        threshold_label=format_value(threshold, percent) if threshold is not None else "",
        top_label=format_value(max(extent), percent),
        bottom_label=format_value(min(extent), percent),
    )
