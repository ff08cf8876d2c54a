"""Opening angles: the rep's first line, a template filled from the account and its primary signal.

Pure: a template string and a plain mapping in, text out; never raises on a bad template.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from decimal import Decimal
from numbers import Real
from typing import Any

import pandas as pd

from scoring.config import EXPANSION_MODULE, EXPANSION_TIER

#: Placeholders an opening angle may use. Percent ones take a fraction (0.92 -> "92%"), money ones a
#: number (40000 -> "40,000"), counts render with thousands separators, anything else as text.
ALLOWED_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "account_name",
        "seat_utilisation",
        "seats_active",
        "seats_licensed",
        "api_utilisation",
        "api_calls_30d",
        "api_limit_30d",
        "automation_workflows",
        "departments_active",
        "module",
        "target_tier",
        "contract_arr",
        "estimate",
        "signal_value",
        "threshold",
    }
)
_PERCENT_PLACEHOLDERS = frozenset({"seat_utilisation", "api_utilisation"})
#: Shown wherever a placeholder has no value, is unknown or malformed.
MISSING_PLACEHOLDER_TEXT = "—"
_FORMATTER = string.Formatter()
#: Widest field and most digits a placeholder's format may ask for (``{estimate:>12,.0f}``): beyond
#: this a template could make every EQL carry megabytes of padding.
MAX_FORMAT_WIDTH = 40
#: Longest opening-angle template admin accepts, and longest text a rendering may produce.
MAX_OPENING_ANGLE_LENGTH = 2000
_TRUNCATED = "…"
_SPEC_NUMBERS = re.compile(r"\d+")


def placeholder_names(template: str) -> set[str]:
    """Every ``{field}`` name a template uses, as written (admin validation: names - ALLOWED).

    Returns an empty set when the template's braces do not parse.
    """
    try:
        return {field for _, field, _, _ in _FORMATTER.parse(template or "") if field is not None}
    except ValueError:
        return set()


def oversized_formats(template: str) -> list[str]:
    """The ``{field:spec}`` fields whose width or precision exceeds ``MAX_FORMAT_WIDTH`` (admin)."""
    try:
        parsed = list(_FORMATTER.parse(template or ""))
    except ValueError:
        return []
    return [
        f"{{{field}:{spec}}}"
        for _, field, spec, _ in parsed
        if field is not None and spec and _spec_too_wide(spec)
    ]


def _spec_too_wide(format_spec: str) -> bool:
    """Whether any number in a format spec (fill digits, width, precision) is above the cap."""
    return any(int(digits) > MAX_FORMAT_WIDTH for digits in _SPEC_NUMBERS.findall(format_spec))


def _is_number(value: Any) -> bool:
    return isinstance(value, (Real, Decimal)) and not isinstance(value, bool)


def _plain_number(value: Any) -> str:
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.2f}".rstrip("0").rstrip(".")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return _is_number(value) and math.isnan(float(value))


def _format_placeholder(name: str, value: Any, format_spec: str) -> str:
    if _is_missing(value):
        return MISSING_PLACEHOLDER_TEXT
    if format_spec and not _spec_too_wide(format_spec):
        try:
            return format(value, format_spec)
        except (TypeError, ValueError):
            pass  # a spec that does not suit the value falls back to the default rendering
    if _is_number(value):
        if name in _PERCENT_PLACEHOLDERS:
            return f"{float(value) * 100:.0f}%"
        return _plain_number(value)
    return str(value)


def render_opening_angle(template: str, context: Mapping[str, Any]) -> str:
    """Fill an opening angle's ``{placeholder}`` fields from ``context``; never raises.

    Only names in ``ALLOWED_PLACEHOLDERS`` are filled (no attribute or index access); a missing,
    None/NaN or unknown one renders as ``"—"``; a template whose braces do not parse is returned as is.
    A format wider than ``MAX_FORMAT_WIDTH`` is ignored (default rendering), and the text is cut to
    ``MAX_OPENING_ANGLE_LENGTH`` characters.
    """
    if not template:
        return ""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError:
        return _capped(template)
    parts = []
    for literal, field, format_spec, _conversion in parsed:
        parts.append(literal)
        if field is None:
            continue
        if field not in ALLOWED_PLACEHOLDERS or field not in context:
            parts.append(MISSING_PLACEHOLDER_TEXT)
        else:
            parts.append(_format_placeholder(field, context[field], format_spec or ""))
    return _capped("".join(parts))


def _capped(text: str) -> str:
    if len(text) <= MAX_OPENING_ANGLE_LENGTH:
        return text
    return text[: MAX_OPENING_ANGLE_LENGTH - len(_TRUNCATED)] + _TRUNCATED


def _ratio(numerator: Any, denominator: Any) -> float | None:
    if not (_is_number(numerator) and _is_number(denominator)):
        return None
    top, bottom = float(numerator), float(denominator)
    if math.isnan(top) or math.isnan(bottom) or bottom == 0:
        return None
    return top / bottom


def opening_angle_context(
    *,
    account: Mapping[str, Any],
    latest: Mapping[str, Any],
    expansion_type: str = "",
    target: str = "",
    estimate: Any = None,
    signal_value: Any = None,
    threshold: Any = None,
) -> dict[str, Any]:
    """Context for ``render_opening_angle`` from an account row, its ``latest_metrics`` row and the
    primary signal's outcome (expansion type, target, estimate, reading, threshold).

    seat_utilisation = seats_active / seats_licensed; api_utilisation = api_calls_30d / api_limit_30d;
    ``module`` is the target of a module signal, ``target_tier`` that of a tier signal.
    """
    name = account.get("name") or account.get("account_name") or account.get("account_id") or ""
    seats_active = latest.get("seats_active")
    api_calls = latest.get("api_calls_30d")
    return {
        "account_name": name,
        "seat_utilisation": _ratio(seats_active, account.get("seats_licensed")),
        "seats_active": seats_active,
        "seats_licensed": account.get("seats_licensed"),
        "api_utilisation": _ratio(api_calls, account.get("api_limit_30d")),
        "api_calls_30d": api_calls,
        "api_limit_30d": account.get("api_limit_30d"),
        "automation_workflows": latest.get("automation_workflows"),
        "departments_active": latest.get("departments_active"),
        "module": target if expansion_type == EXPANSION_MODULE else None,
        "target_tier": target if expansion_type == EXPANSION_TIER else None,
        "contract_arr": account.get("contract_arr"),
        "estimate": estimate,
        "signal_value": signal_value,
        "threshold": threshold,
    }
