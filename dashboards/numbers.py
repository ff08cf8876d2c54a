"""Pure number helpers the report cores share (no ORM, no pandas): dates given as text, rates.

A rate's *empty* value is the caller's contract, not a default: the coverage JSON reports
``coverage_rate`` 0.0 when no account is expansion-ready (``docs/contract.md``), while the
conversion report shows "—" for a rate nothing was measured for (None).
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def as_date(value: dt.date | str) -> dt.date:
    """A date, a datetime (its date) or an ISO ``YYYY-MM-DD`` string -> a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def rate(numerator: int, denominator: int, *, empty: float | None, digits: int | None = None) -> float | None:
    """``numerator / denominator`` (rounded to ``digits`` decimals when given, else full precision);
    ``empty`` when the denominator is 0."""
    if not denominator:
        return empty
    value = numerator / denominator
    return value if digits is None else round(value, digits)


def float_or_nan(value: Any) -> float:
    """A number, Decimal or numeric string -> float; anything else -> NaN."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
