"""The numbers of a plotly figure as tables: the text alternative a screen reader gets for a chart.

Pure: takes the JSON-ready figure dict the pages hand to plotly.js (``{"data": [...], "layout": {...}}``)
and returns one table per x axis (a subplot): a row per x value, a column per trace. A histogram
becomes its bins and their counts. Percent axes (tick format ``%``) are shown as percentages.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: More rows than this are cut (with a note): a table per chart, not the raw data export.
MAX_ROWS = 60


@dataclass(frozen=True)
class FigureTable:
    caption: str
    x_label: str
    columns: list[str]
    rows: list[tuple[str, list[str]]] = field(default_factory=list)
    more_rows: int = 0


def _values(raw: Any) -> list[Any]:
    """A trace's x/y as a list (plotly may encode arrays as ``{"dtype", "bdata"}``)."""
    if raw is None:
        return []
    if isinstance(raw, Mapping) and "bdata" in raw:
        array = np.frombuffer(base64.b64decode(raw["bdata"]), dtype=raw["dtype"])
        if "shape" in raw:
            array = array.reshape([int(n) for n in str(raw["shape"]).split(",")])
        return array.tolist()
    if isinstance(raw, str | bytes):
        return [raw]
    return list(raw)


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("text") or "")
    return str(value or "")


def _axis_key(ref: str | None, letter: str) -> str:
    """``"x2"`` -> ``"xaxis2"``; ``None`` or ``"x"`` -> ``"xaxis"``."""
    suffix = (ref or letter)[1:]
    return f"{letter}axis{suffix}"


def _fmt(value: Any, percent: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if percent is not None:
        return f"{value * 100:.{percent}f}%"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _percent_digits(axis: Mapping[str, Any]) -> str | None:
    """Digits of a percent tick format (``".0%"`` -> ``"0"``), None for a plain axis."""
    tickformat = str(axis.get("tickformat") or "")
    if not tickformat.endswith("%"):
        return None
    digits = "".join(ch for ch in tickformat if ch.isdigit())
    return digits or "0"


def _histogram_rows(trace: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    values = sorted(float(v) for v in _values(trace.get("x")) if v is not None)
    if not values:
        return []
    bins = trace.get("xbins") or {}
    start = float(bins.get("start", 0) or 0)
    size = float(bins.get("size") or 0) or max((values[-1] - start) / 10, 1.0)
    counts: dict[int, int] = {}
    for v in values:
        index = int((v - start) // size)
        counts[index] = counts.get(index, 0) + 1
    return [
        (f"{_fmt(start + i * size, None)} to {_fmt(start + (i + 1) * size, None)}", [_fmt(counts[i], None)])
        for i in sorted(counts)
    ]


def figure_tables(figure: Mapping[str, Any] | None, title: str = "") -> list[FigureTable]:
    """One table per x axis of ``figure``; ``title`` names the chart in each caption."""
    if not figure:
        return []
    layout = figure.get("layout") or {}
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for trace in figure.get("data") or []:
        if trace.get("visible") is False:
            continue
        groups.setdefault(_axis_key(trace.get("xaxis"), "x"), []).append(trace)
    # make_subplots writes the subplot titles as the first annotations, in subplot order.
    subplot_titles = [_text(a) for a in layout.get("annotations") or [] if a.get("yanchor") == "bottom"]
    tables = []
    for index, (axis_key, traces) in enumerate(sorted(groups.items(), key=lambda kv: kv[0])):
        x_axis = layout.get(axis_key) or {}
        caption = title
        if len(groups) > 1 and index < len(subplot_titles):
            caption = f"{title}: {subplot_titles[index]}" if title else subplot_titles[index]
        if all(t.get("type") == "histogram" for t in traces):
            rows = _histogram_rows(traces[0])
            y_title = _text((layout.get("yaxis") or {}).get("title")) or "Count"
            x_label = _text(x_axis.get("title")) or "Range"
            tables.append(_cut(FigureTable(caption, x_label, [y_title], rows)))
            continue
        columns, cells, order = [], {}, []
        for col, trace in enumerate(traces):
            y_axis = layout.get(_axis_key(trace.get("yaxis"), "y")) or {}
            percent = _percent_digits(y_axis)
            name = str(trace.get("name") or _text(y_axis.get("title")) or f"Series {col + 1}")
            columns.append(name)
            for x, y in zip(_values(trace.get("x")), _values(trace.get("y")), strict=False):
                key = str(x)
                if key not in cells:
                    cells[key] = {}
                    order.append(key)
                cells[key][col] = _fmt(y, percent)
        rows = [(key, [cells[key].get(col, "—") for col in range(len(columns))]) for key in order]
        x_label = _text(x_axis.get("title")) or ("Date" if _looks_like_dates(order) else "Category")
        tables.append(_cut(FigureTable(caption, x_label, columns, rows)))
    return tables


def _looks_like_dates(keys: Sequence[str]) -> bool:
    return bool(keys) and all(len(k) >= 10 and k[4] == "-" and k[7] == "-" for k in keys)


def _cut(table: FigureTable) -> FigureTable:
    if len(table.rows) <= MAX_ROWS:
        return table
    return FigureTable(
        table.caption, table.x_label, table.columns, table.rows[-MAX_ROWS:], len(table.rows) - MAX_ROWS
    )
