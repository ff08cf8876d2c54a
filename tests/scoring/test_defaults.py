"""The seeded configuration (a frozen data migration) and the engine's defaults agree today."""

from __future__ import annotations

import dataclasses

import pytest

from scoring import selectors
from scoring.defaults import default_config

pytestmark = pytest.mark.django_db


def engine_fields(gate) -> dict:
    """A gate as the engine reads it (its name is a label in the database)."""
    return {k: v for k, v in dataclasses.asdict(gate).items() if k != "name"}


def test_a_fresh_database_holds_the_default_signals_gates_and_policy():
    seeded = selectors.scoring_config_load()
    defaults = default_config()

    assert [dataclasses.asdict(s) for s in seeded.signals] == [
        dataclasses.asdict(s) for s in defaults.signals
    ]
    assert [engine_fields(g) for g in seeded.gates] == [engine_fields(g) for g in defaults.gates]
    assert seeded.policy == defaults.policy
