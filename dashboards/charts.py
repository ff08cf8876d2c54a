"""Plotly figures for the report pages, built server-side and drawn by the local plotly.js bundle.

Every builder takes plain numbers (rows of ``dashboards.metrics`` / ``dashboards.conversion``) and
returns the figure as a JSON-ready dict (``{"data": [...], "layout": {...}}``) for ``json_script``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboards.conversion import FIRE_BAND, FIRE_TOO_PERMISSIVE, FIRE_TOO_RESTRICTIVE

ACCENT = "#0b5cad"
NAVY = "#0f2540"
MUTED = "#57606a"
GRID = "#eaeef2"
OK = "#1a7f37"
DANGER = "#b42318"
WARN = "#8a5a00"
#: One colour per signal, stable across charts (colour-blind friendly, Okabe-Ito based).
#: (The "all signals" line is navy, so the list starts away from blue.)
PALETTE = ("#e69f00", "#56b4e9", "#009e73", "#cc79a7", "#d55e00", "#6639ba", "#0b5cad", "#8a8f98")


def _figure_dict(fig: go.Figure) -> dict[str, Any]:
    return json.loads(fig.to_json())


def _style(fig: go.Figure, *, height: int = 320, percent_y: bool = True, legend: bool = True) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 52, "r": 16, "t": 36, "b": 84 if legend else 48},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12, "color": MUTED},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
        hoverlabel={"bgcolor": "#fff", "font": {"color": NAVY}},
        bargap=0.25,
    )
    fig.update_xaxes(showgrid=False, linecolor="#d8dee4", fixedrange=True)
    fig.update_yaxes(gridcolor=GRID, zeroline=False, fixedrange=True)
    if percent_y:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def signal_colours(keys: Sequence[str]) -> dict[str, str]:
    return {key: PALETTE[i % len(PALETTE)] for i, key in enumerate(keys)}


# ----------------------------------------------------------------------------------------------- coverage


def coverage_breakdown(by_segment: Sequence[tuple[str, Mapping[str, Any]]], quartiles: Sequence[Any]) -> dict:
    """Left: coverage rate of expansion-ready accounts per segment. Right: per composite usage quartile,
    the share of accounts with a commercial touch in 365 days and their touch-to-won conversion."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Coverage rate by segment", "By usage quartile (4 = top)"),
        horizontal_spacing=0.12,
    )
    segments = [name for name, _ in by_segment]
    fig.add_trace(
        go.Bar(
            x=segments,
            y=[row["coverage_rate"] for _, row in by_segment],
            marker_color=ACCENT,
            name="Coverage rate (ready accounts touched in 365 days)",
            text=[f"{row['covered']} of {row['expansion_ready']}" for _, row in by_segment],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{x}: %{y:.0%} (%{text} ready accounts covered)<extra></extra>",
        ),
        row=1,
        col=1,
    )
    labels = [f"Q{q.quartile}" for q in quartiles]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[(q.touched / q.accounts) if q.accounts else 0 for q in quartiles],
            marker_color="#56b4e9",
            name="Accounts touched (365 days)",
            customdata=[[q.touched, q.accounts] for q in quartiles],
            hovertemplate="%{x}: %{y:.0%} touched (%{customdata[0]} of %{customdata[1]})<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Bar(
            x=labels,
            y=[q.conversion for q in quartiles],
            marker_color=OK,
            name="Touch-to-won conversion",
            customdata=[[q.won, q.touched] for q in quartiles],
            hovertemplate="%{x}: %{y:.0%} won after a touch (%{customdata[0]} of %{customdata[1]})"
            "<extra></extra>",
        ),
        row=1,
        col=2,
    )
    _style(fig, height=340)
    fig.update_yaxes(range=[0, 1.12], row=1, col=1)
    fig.update_annotations(font={"size": 13, "color": NAVY})
    return _figure_dict(fig)


def _month_label(as_of: str) -> str:
    day = dt.date.fromisoformat(as_of)
    label = f"{day:%b %Y}"
    return label if (day + dt.timedelta(days=1)).day == 1 else f"{label} (to {day:%-d %b})"


def coverage_trend(points: Sequence[Mapping[str, Any]]) -> dict:
    """Coverage rate at each month end of the imported history (one point per month, the last one at
    the report date when that is mid-month)."""
    fig = go.Figure(
        go.Scatter(
            x=[_month_label(p["as_of"]) for p in points],
            y=[p["coverage_rate"] for p in points],
            mode="lines+markers",
            line={"color": ACCENT, "width": 2.5},
            marker={"size": 7},
            name="Coverage rate",
            customdata=[[p["as_of"], p["covered"], p["expansion_ready"]] for p in points],
            hovertemplate="%{customdata[0]}: %{y:.1%} (%{customdata[1]} of %{customdata[2]} ready accounts "
            "covered)<extra></extra>",
        )
    )
    _style(fig, height=280, legend=False)
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 1.05])
    return _figure_dict(fig)


# ------------------------------------------------------------------------------------------------ signals


def accuracy_trend(
    rows: Sequence[Mapping[str, Any]], names: Mapping[str, str], colours: Mapping[str, str] | None = None
) -> dict | None:
    """Weekly EQL accuracy per primary signal (``conversion.weekly`` rows; weeks without a matured EQL
    are skipped, marker size grows with the number of matured EQLs) and for all signals (dark line).

    None when no week has a matured EQL yet (nothing to draw)."""
    fig = go.Figure()
    keys = [k for k in dict.fromkeys(r["signal"] for r in rows) if k]
    colours = colours or signal_colours(keys)
    if not any(r["accuracy"] is not None for r in rows):
        return None  # no matured week: an empty plot would draw a meaningless -1..6 axis
    for key in ["", *keys]:
        series = [r for r in rows if r["signal"] == key and r["accuracy"] is not None]
        if not series:
            continue
        name = names.get(key, key) if key else "All signals"
        fig.add_trace(
            go.Scatter(
                x=[r["week"].isoformat() for r in series],
                y=[r["accuracy"] for r in series],
                customdata=[r["matured"] for r in series],
                mode="lines+markers",
                name=name,
                line={"color": colours.get(key, NAVY), "width": 3 if not key else 1.6, "shape": "linear"},
                marker={"size": [min(14, 5 + r["matured"]) for r in series], "opacity": 0.9},
                hovertemplate="week of %{x|%d %b}: %{y:.0%} of %{customdata} matured EQLs<extra>"
                + name
                + "</extra>",
            )
        )
    _style(fig, height=340)
    fig.update_yaxes(range=[0, 1.05], title={"text": "accuracy (30-day)", "font": {"size": 11}})
    fig.update_xaxes(
        type="date", tickformat="%d %b %Y", title={"text": "week of assignment", "font": {"size": 11}}
    )
    return _figure_dict(fig)


def fire_rate_band(
    rows: Sequence[Mapping[str, Any]], names: Mapping[str, str], colours: Mapping[str, str] | None = None
) -> dict:
    """Fire rate per signal per quarter (bars) against the healthy 5-15% band (shaded) and the
    too-restrictive (3%) and too-permissive (40%, drawn when the axis reaches it) lines."""
    fig = go.Figure()
    keys = list(dict.fromkeys(r["signal"] for r in rows))
    colours = colours or signal_colours(keys)
    for key in keys:
        series = [r for r in rows if r["signal"] == key]
        fig.add_trace(
            go.Bar(
                x=[r["quarter"] + (" (to date)" if r["partial"] else "") for r in series],
                y=[r["rate"] or 0 for r in series],
                name=names.get(key, key),
                marker_color=colours.get(key, MUTED),
                customdata=[[r["fired"], r["eligible"]] for r in series],
                hovertemplate="%{x}: %{y:.1%} (%{customdata[0]} of %{customdata[1]} eligible accounts)"
                "<extra>" + names.get(key, key) + "</extra>",
            )
        )
    low, high = FIRE_BAND
    top = min(1.0, max([(r["rate"] or 0) * 1.15 for r in rows] + [0.2]))
    fig.add_hrect(y0=low, y1=high, fillcolor=OK, opacity=0.10, line_width=0, layer="below")
    fig.add_hline(
        y=FIRE_TOO_RESTRICTIVE,
        line={"color": WARN, "dash": "dot", "width": 1},
        annotation_text="3% too<br>restrictive",
        annotation_position="right",
        annotation_font={"size": 10, "color": WARN},
    )
    if top >= FIRE_TOO_PERMISSIVE:
        fig.add_hline(
            y=FIRE_TOO_PERMISSIVE,
            line={"color": DANGER, "dash": "dash", "width": 1},
            annotation_text="40% too<br>permissive",
            annotation_position="right",
            annotation_font={"size": 10, "color": DANGER},
        )
    _style(fig, height=340)
    fig.update_layout(barmode="group", margin={"r": 78})
    fig.update_yaxes(range=[0, top], title={"text": "share of eligible accounts", "font": {"size": 11}})
    fig.add_annotation(
        x=1,
        xref="paper",
        xanchor="left",
        y=(low + high) / 2,
        text="healthy<br>band<br>5\u201315%",
        showarrow=False,
        align="left",
        font={"size": 10, "color": OK},
    )
    return _figure_dict(fig)


def time_to_contact_histogram(hours: Sequence[float], median: float | None, p90: float | None) -> dict:
    """Distribution of hours from assignment to first contact, with the median and p90 marked."""
    fig = go.Figure(
        go.Histogram(
            x=list(hours),
            marker_color=ACCENT,
            marker_line={"color": "#fff", "width": 1},
            opacity=0.9,
            name="EQLs",
            xbins={"start": 0, "size": _bin_size(hours)},
            hovertemplate="%{x} h: %{y} EQLs<extra></extra>",
        )
    )
    for value, label, colour in ((median, "median", NAVY), (p90, "p90", DANGER)):
        if value is not None:
            fig.add_vline(
                x=value,
                line={"color": colour, "dash": "dash", "width": 1.5},
                annotation_text=f"{label} {value:.1f} h",
                annotation_position="top left" if label == "median" else "top right",
                annotation_font={"size": 11, "color": colour},
            )
    _style(fig, height=300, percent_y=False, legend=False)
    # No gap between bins: a bar covers exactly its hours (a gap made a 0-4 h bin read as 0.5-3.5 h).
    size = _bin_size(hours)
    top = size * (int(max(hours, default=0) // size) + 1)
    fig.update_layout(margin={"t": 44}, bargap=0)
    fig.update_xaxes(
        range=[0, top],
        title={"text": "hours from assignment to first contact", "font": {"size": 11}},
    )
    fig.update_yaxes(title={"text": "EQLs", "font": {"size": 11}}, rangemode="tozero")
    return _figure_dict(fig)


#: Hour bins by the longest wait: (longest up to, bin size in hours). Beyond the last: one day.
BIN_SIZES = ((1, 0.25), (6, 0.5), (12, 1), (48, 4), (24 * 7, 12))


def _bin_size(hours: Sequence[float]) -> float:
    """Hour bins fitted to the data: 15 min when every contact came within the hour, then 30 min,
    1 h, 4 h up to two days, 12 h up to a week, then 24 h, so short and long waits both stay readable."""
    top = max(hours, default=0)
    for longest, size in BIN_SIZES:
        if top < longest:
            return size
    return 24
