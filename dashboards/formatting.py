"""Numbers as people read them on the pages, the CSV exports and the inbox: money and percentages.

Each formatter takes the text for a missing value (None, an empty string, NaN): the reports show
``MISSING`` ("—"), the inbox's template filters show nothing.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

MISSING = "—"


def is_missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and value == "")
        or (isinstance(value, float) and math.isnan(value))
    )


def money(value: Any, *, missing: str = MISSING) -> str:
    """48000 -> '48,000': reporting currency, whole units, half to even on the exact value."""
    if is_missing(value):
        return missing
    # Decimals, ints and numeric strings exactly; floats (numpy's too) as they are.
    number = Decimal(value) if isinstance(value, Decimal | int | str) else float(value)
    return f"{number:,.0f}"


def percent(value: Any, digits: int = 0, *, missing: str = MISSING) -> str:
    """0.4267 -> '43%' (digits=0), '42.7%' (digits=1)."""
    if is_missing(value):
        return missing
    return f"{float(value) * 100:.{int(digits)}f}%"
