"""The shipped presets (presets/*.yaml): each applies cleanly and round-trips byte for byte, and
``seed_demo --preset`` loads the preset with demo data its triggers fire on."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from expansion import demo, demo_presets
from expansion.models import EQL, Account, ProductEvent
from scoring.config_files import config_apply, config_export
from scoring.models import SignalDefinition
from scoring.services import scoring_pass_run

pytestmark = pytest.mark.django_db

PRESETS = Path(settings.BASE_DIR) / "presets"
TEAMFLOW_KEYS = {
    "seat_expansion_urgent",
    "seat_expansion_proactive",
    "tier_upgrade_integrations",
    "tier_upgrade_power_users",
    "enterprise_expansion",
}


def apply(name: str):
    path = PRESETS / f"{name}.yaml"
    return config_apply(text=path.read_text(), name=f"presets/{name}.yaml", dry_run=False, backtest=False)


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_preset_applies_and_round_trips_exactly(path):
    result = config_apply(text=path.read_text(), name=path.name, dry_run=False, backtest=False)
    assert result.ok, result.errors
    first = config_export()
    assert first == path.read_text(), "the shipped file is what config export writes"
    again = config_apply(text=first, name="again.yaml", dry_run=False, backtest=False)
    assert again.ok
    assert again.diff == []
    assert config_export() == first


def test_every_preset_has_its_demo_data():
    assert {p.stem for p in PRESETS.glob("*.yaml")} <= set(demo_presets.preset_names())


def test_the_case_study_preset_is_the_default_configuration():
    # the database holds the seeded default (data migrations): exporting it gives the preset
    assert config_export() == (PRESETS / "case-study.yaml").read_text()


def test_teamflow_names_its_five_triggers():
    assert apply("teamflow").ok
    assert set(SignalDefinition.objects.values_list("key", flat=True)) == TEAMFLOW_KEYS


def test_switching_presets_back_restores_the_default():
    assert apply("teamflow").ok
    assert apply("case-study").ok
    assert config_export() == (PRESETS / "case-study.yaml").read_text()


def test_teamflow_demo_data_fires_the_urgent_and_the_enterprise_triggers_at_once():
    export = demo.generate(accounts=400, as_of=dt.date(2026, 3, 31))
    extended = demo_presets.with_extras(export, "teamflow")
    assert len(extended.events) > 0
    assert set(extended.events["event"]) == {"invite_blocked_seat_limit"}
    assert {"integration_page_views_30d", "power_users"} <= set(extended.usage["metric"])
    assert extended.accounts["timezone"].notna().all()
    assert len(extended.usage) > len(export.usage)
    # the same seed gives the same data
    assert demo_presets.with_extras(export, "teamflow").events.equals(extended.events)


def test_seed_demo_with_a_preset_applies_it_and_its_triggers_fire(tmp_path):
    as_of = dt.date.today()
    call_command(
        "seed_demo",
        "--preset",
        "teamflow",
        "--accounts",
        "300",
        "--history-weeks",
        "2",
        "--as-of",
        as_of.isoformat(),
        "--out",
        str(tmp_path),
        stdout=StringIO(),
    )
    assert set(SignalDefinition.objects.values_list("key", flat=True)) == TEAMFLOW_KEYS
    assert ProductEvent.objects.filter(event="invite_blocked_seat_limit").exists()
    assert Account.objects.exclude(timezone="").exists()
    scoring_pass_run()
    primaries = Counter(EQL.objects.values_list("primary_signal", flat=True))
    assert primaries["seat_expansion_urgent"] > 0
    assert primaries["enterprise_expansion"] > 0
    assert len(set(primaries) & TEAMFLOW_KEYS) >= 4, primaries


def test_an_unknown_preset_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--preset", "nope", "--out", str(tmp_path), stdout=StringIO())
    assert not Account.objects.exists()
