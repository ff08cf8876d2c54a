"""Numbers and dates as people read them on the pages, the inbox, notifications and the digest.

Each formatter takes the text for a missing value (None, an empty string, NaN): the reports show
``MISSING`` ("—"), the inbox's template filters show nothing. The currency is an argument (the
caller reads the ``REPORTING_CURRENCY`` setting); JSON, CSV and the API keep plain numbers and ISO
dates and do not use these.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

MISSING = "—"

#: Currencies shown with a symbol before the amount; any other code is written after it ("74,398 CHF").
CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}

#: One date format across the app: "4 Dec 2025", and "4 Dec 2025, 14:05" with the time (the same
#: as the DATE_FORMAT / DATETIME_FORMAT settings, "j M Y" and "j M Y, H:i").
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def is_missing(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, str) and value == "")
        or (isinstance(value, float) and math.isnan(value))
    )


def money(value: Any, *, currency: str = "", digits: int = 0, missing: str = MISSING) -> str:
    """48000 -> '48,000'; with currency="USD" '$48,000', with "CHF" '48,000 CHF'.

    Whole units unless ``digits`` says otherwise (Finance's cents), half to even on the exact value;
    a negative amount keeps its sign before the symbol ('-$1,200')."""
    if is_missing(value):
        return missing
    # Decimals, ints and numeric strings exactly; floats (numpy's too) as they are.
    number = Decimal(value) if isinstance(value, Decimal | int | str) else float(value)
    text = f"{number:,.{int(digits)}f}"
    if text.startswith("-") and not any(c not in "-0.," for c in text):
        text = text[1:]  # "-0" after rounding reads as 0
    code = (currency or "").strip().upper()
    if not code:
        return text
    symbol = CURRENCY_SYMBOLS.get(code)
    if symbol is None:
        return f"{text} {code}"
    sign, digits_text = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{symbol}{digits_text}"


def percent(value: Any, digits: int = 0, *, missing: str = MISSING) -> str:
    """0.4267 -> '43%' (digits=0), '42.7%' (digits=1)."""
    if is_missing(value):
        return missing
    return f"{float(value) * 100:.{int(digits)}f}%"


def share(count: int, total: int, *, missing: str = MISSING) -> str:
    """``count`` of ``total`` as a whole percent that never contradicts the count: 1 of 256 reads
    '0.4%' (not '0%'), 255 of 256 '99.6%' (not '100%'); '<0.1%' / '>99.9%' below that; 0 of 0 missing."""
    if not total:
        return missing
    value = count / total
    for digits in (0, 1):
        text = f"{value * 100:.{digits}f}"
        if (count == 0 or float(text) > 0) and (count == total or float(text) < 100):
            return f"{text}%"
    return "<0.1%" if value < 0.5 else ">99.9%"


#: Words kept in capitals when a key is turned into a label.
ACRONYMS = {"ae": "AE", "csm": "CSM", "sso": "SSO", "api": "API", "crm": "CRM", "arr": "ARR", "eql": "EQL"}


def key_label(key: str | None) -> str:
    """A stored key in words: 'integrations_hub' -> 'Integrations hub', 'sso_security' -> 'SSO security'."""
    words = str(key or "").replace("_", " ").replace("-", " ").split()
    shown = [ACRONYMS.get(w.lower(), w.lower()) for w in words]
    if shown and shown[0] not in ACRONYMS.values():
        shown[0] = shown[0].capitalize()
    return " ".join(shown)


def day(value: dt.date | dt.datetime | None, *, missing: str = MISSING) -> str:
    """date(2025, 12, 4) -> '4 Dec 2025' (a datetime shows its own calendar day: localise it first)."""
    if value is None or value == "":
        return missing
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def moment(value: dt.datetime | None, *, missing: str = MISSING) -> str:
    """datetime(2025, 12, 4, 14, 5) -> '4 Dec 2025, 14:05' (as given: localise it first)."""
    if value is None or value == "":
        return missing
    return f"{day(value)}, {value:%H:%M}"


def health(value: Any, *, missing: str = MISSING) -> str:
    """65 -> '65/100': the account health score on its scale."""
    if is_missing(value):
        return missing
    return f"{float(value):.0f}/100"
