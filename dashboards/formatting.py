"""The one formatting layer, re-exported for the pages (it lives in ``expansion.formatting``, a pure
module, so routing's notifications and digest share it without importing dashboards)."""

from expansion.formatting import (  # noqa: F401
    ACRONYMS,
    CURRENCY_SYMBOLS,
    MISSING,
    MONTHS,
    day,
    health,
    is_missing,
    key_label,
    moment,
    money,
    percent,
    share,
)
