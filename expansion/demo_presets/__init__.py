"""Demo data for the shipped presets (``presets/*.yaml``): what each preset's triggers read beyond the
base demo export (``expansion.demo``), so ``seed_demo --preset NAME`` shows them firing.

Each module's ``extras(export, rng)`` returns frames keyed by CSV name: rows to append to
``usage.csv`` and ``events.csv``, and for ``accounts.csv`` extra columns by account_id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from expansion.demo_presets import segment_readiness, signal_spotter, teamflow

#: Preset name (``presets/<name>.yaml``) -> its demo data; case-study reads the base export alone.
EXTRAS: dict[str, Callable | None] = {
    "case-study": None,
    "signal-spotter": signal_spotter.extras,
    "segment-readiness": segment_readiness.extras,
    "teamflow": teamflow.extras,
}

#: How a preset's extras vary from the base export's seed (same seed, same data).
SEED_OFFSET = 1003


def preset_names() -> tuple[str, ...]:
    return tuple(EXTRAS)


def with_extras(export, preset: str):
    """The demo export with ``preset``'s extra usage, events and account columns added."""
    if preset not in EXTRAS:
        raise ValueError(f"unknown preset {preset!r}; use one of {', '.join(EXTRAS)}")
    make = EXTRAS[preset]
    if make is None:
        return export
    frames = make(export, np.random.default_rng(export.seed + SEED_OFFSET))
    usage = export.usage
    if "usage.csv" in frames:
        usage = pd.concat([usage, frames["usage.csv"]], ignore_index=True)
    accounts = export.accounts
    if "accounts.csv" in frames:
        extra = frames["accounts.csv"].set_index("account_id")
        accounts = accounts.drop(columns=[c for c in extra.columns if c in accounts]).join(
            extra, on="account_id"
        )
    events = frames.get("events.csv", export.events)
    return dataclasses.replace(export, usage=usage, accounts=accounts, events=events)
