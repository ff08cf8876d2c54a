"""Small conversions shared by the pure scoring modules (no ORM, no Django)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def to_float(values: Any) -> np.ndarray:
    """Numbers (int, float, Decimal, numeric strings) as float64; anything else becomes NaN.

    A float64 column is returned without a copy: callers never write into the result.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        return series.to_numpy(dtype=np.float64)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
