"""Money as the product stores it: a Decimal in the reporting currency, rounded to the cent."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")


def to_cents(value: float | Decimal | int) -> Decimal:
    """A number as a money amount: rounded to two decimals (a float's shortest repr, half to even)."""
    return Decimal(str(round(float(value), 2))).quantize(CENT)
