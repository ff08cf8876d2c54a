"""Demo extras of the signal-spotter preset (seed 001, ``presets/signal-spotter.yaml``).

Adds the growth, timing and engagement metrics its weighted signals read to the demo export: company
``headcount`` (with a reading a year before each day, for the 365-day growth ratio), ``days_to_renewal``
(from the accounts' renewal dates), ``power_users`` and ``exec_logins_30d``. The seat, department and
module signals read the demo's own usage. About a tenth of the accounts reach the ready score of 8
at as_of, more of them among the demo's high-propensity accounts.

Pure (numpy and pandas, no Django).
"""

from __future__ import annotations

import pandas as pd

from expansion.demo_presets import _usage


def extras(export, rng) -> dict[str, pd.DataFrame]:
    """Extra rows for the demo export's frames, by CSV name (here only ``usage.csv``)."""
    days = _usage.reporting_days(export)
    parts = [
        *_usage.headcount(export, days, rng, grow_high=0.30, grow_other=0.03),
        _usage.days_to_renewal(export, days),
        _usage.power_users(export, days, rng, share_high=0.30, share_other=0.03),
        _usage.exec_logins(export, days, rng, share_high=0.30, share_other=0.04),
    ]
    return {"usage.csv": pd.concat(parts, ignore_index=True)}
