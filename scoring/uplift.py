"""Expansion uplift per expansion type: calibrated from won expansions, else the defaults.

Pure: frames and the frozen dataclasses of ``scoring.config`` in, plain dicts out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.config import EXPANSION_MODULE, EXPANSION_SEATS, EXPANSION_TIER, SignalSpec
from scoring.frames import to_float

#: Domain default uplift (share of contract ARR) per expansion type when no signal supplies one.
DEFAULT_UPLIFTS: dict[str, float] = {EXPANSION_SEATS: 0.20, EXPANSION_TIER: 0.35, EXPANSION_MODULE: 0.25}
UPLIFT_CALIBRATED = "calibrated"
UPLIFT_DEFAULT = "default"


def _expansion_types(signals: Sequence[SignalSpec]) -> list[str]:
    types = list(DEFAULT_UPLIFTS)
    types += [s.expansion_type for s in signals if s.expansion_type and s.expansion_type not in types]
    return list(dict.fromkeys(types))


def default_uplifts(signals: Sequence[SignalSpec]) -> dict[str, tuple[float, str]]:
    """Uplift per expansion type with source ``"default"``.

    Rule: the first non-zero ``default_uplift`` among the signals of that type (signal order), else the
    domain default (seats 0.20, tier 0.35, module 0.25; 0.0 for a type the domain does not know).
    """
    out: dict[str, tuple[float, str]] = {}
    for expansion_type in _expansion_types(signals):
        from_signal = next(
            (s.default_uplift for s in signals if s.expansion_type == expansion_type and s.default_uplift),
            None,
        )
        value = from_signal if from_signal is not None else DEFAULT_UPLIFTS.get(expansion_type, 0.0)
        out[expansion_type] = (float(value), UPLIFT_DEFAULT)
    return out


def calibrate_uplifts(
    expansions: pd.DataFrame | None, signals: Sequence[SignalSpec], min_samples: int
) -> dict[str, tuple[float, str]]:
    """Uplift per expansion type: (fraction of contract ARR, ``"calibrated"`` | ``"default"``).

    Rule: median of ``expansion_arr / contract_arr_at_close`` over ``won`` expansions of the type
    (rows with ``contract_arr_at_close`` <= 0 or missing, or ``expansion_arr`` missing, are ignored)
    when at least ``min_samples`` such rows exist; otherwise ``default_uplifts(signals)``.
    """
    out = default_uplifts(signals)
    if expansions is None or expansions.empty:
        return out
    base = to_float(expansions["contract_arr_at_close"])
    gain = to_float(expansions["expansion_arr"])
    usable = (expansions["status"].to_numpy() == "won") & (base > 0) & ~np.isnan(gain)
    ratio = np.divide(gain, base, out=np.full(len(base), np.nan), where=usable)
    types = expansions["expansion_type"].to_numpy()
    for expansion_type in out:
        sample = ratio[usable & (types == expansion_type)]
        if len(sample) >= max(min_samples, 1):
            out[expansion_type] = (float(np.median(sample)), UPLIFT_CALIBRATED)
    return out
