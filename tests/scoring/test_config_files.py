"""Configuration as files (scoring.config_files, ``manage.py config``): export -> apply -> export gives the
same bytes, a dry run writes nothing, a bad file names the path and changes nothing, apply records
history, a signal left out is removed (or switched off while EQLs name it), the backtest is printed."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.db import IntegrityError

from routing.crm import payload as crm_payload
from routing.crm.models import CrmConnection, CrmStageMap
from routing.models import ReasonCode, RoutingRule, StageSla
from scoring import config_files
from scoring import config_yaml as cy
from scoring.defaults import default_config
from scoring.models import EqlPolicy, Gate, SignalDefinition
from tests.dashboards import test_backtest_views
from tests.factories import EQLFactory, UserFactory

pytestmark = pytest.mark.django_db

people = test_backtest_views.people
history = test_backtest_views.history
CONFIG_MODELS = (SignalDefinition, Gate, EqlPolicy, RoutingRule, ReasonCode, StageSla)


def saved_state() -> tuple:
    """Every configuration row and the length of every change history."""
    return tuple((list(m.objects.order_by("pk").values()), m.history.count()) for m in CONFIG_MODELS)


def exported() -> dict:
    return yaml.safe_load(config_files.config_export())


def entry(document: dict, section: str, **key) -> dict:
    (found,) = [e for e in document[section] if all(e[k] == v for k, v in key.items())]
    return found


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    """Files are named as RevOps would type them (``playbook.yaml``, in the working directory)."""
    monkeypatch.chdir(tmp_path)


def write(tmp_path, document: dict | str, name: str = "playbook.yaml") -> str:
    (tmp_path / name).write_text(
        document if isinstance(document, str) else cy.dump(document), encoding="utf-8"
    )
    return name


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("config", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(*args) -> str:
    err = io.StringIO()
    with pytest.raises(CommandError, match=r"error\(s\); nothing was changed"):
        call_command("config", *args, stdout=io.StringIO(), stderr=err)
    return err.getvalue()


# --------------------------------------------------------------------------------------------------
# Export and the round trip
# --------------------------------------------------------------------------------------------------


def test_export_holds_the_seeded_defaults_by_natural_key_without_ids():
    text = config_files.config_export()
    document = yaml.safe_load(text)

    assert document["version"] == 1
    keys = [s["key"] for s in document["signals"]]
    assert keys == sorted(s.key for s in default_config().signals)
    seat = entry(document, "signals", key="seat_utilisation")
    assert (seat["threshold"], seat["persistence_days"], seat["denominator_field"]) == (
        0.9,
        7,
        "seats_licensed",
    )
    assert seat["discovery_questions"].splitlines()[0] == (
        "Who on the team is waiting for a seat or sharing a login today?"
    )
    assert [g["name"] for g in document["gates"]] == sorted(Gate.objects.values_list("name", flat=True))
    assert document["eql_policy"]["min_expansion_pct"] == 0.15
    assert entry(document, "reason_codes", kind="lost", code="price")["label"] == "Price"
    assert "\nid:" not in text
    assert "  id:" not in text
    assert "updated_at" not in text


def test_export_apply_export_is_byte_identical_on_the_seeded_configuration(tmp_path):
    before = config_files.config_export()
    out, _ = run("apply", write(tmp_path, before))
    assert "No changes" in out
    assert config_files.config_export() == before


def test_a_configuration_rebuilt_from_its_file_exports_the_same_bytes(tmp_path):
    """Every row deleted and recreated from the file: each field is written back exactly."""
    before = config_files.config_export()
    empty = yaml.safe_load(before)
    for name in ("signals", "gates", "routing_rules", "reason_codes", "self_serve_templates"):
        empty[name] = []
    run("apply", write(tmp_path, empty, "empty.yaml"), "--skip-backtest")
    assert not SignalDefinition.objects.exists()
    assert not RoutingRule.objects.exists()

    run("apply", write(tmp_path, before), "--skip-backtest")

    assert config_files.config_export() == before


def test_an_edited_file_applied_then_exported_gives_the_file_back(tmp_path):
    document = exported()
    entry(document, "signals", key="seat_utilisation")["threshold"] = 0.95
    entry(document, "routing_rules", route="ae", estimate_comparison="gte")["estimate_value"] = 12500.5
    document["eql_policy"]["min_expansion_pct"] = 0.125
    entry(document, "signals", key="team_spread")["opening_angle"] = "Line one.\nLine two:  {account_name}"
    text = cy.dump(document)

    run("apply", write(tmp_path, text), "--skip-backtest")

    assert config_files.config_export() == text
    assert EqlPolicy.objects.get().min_expansion_pct == Decimal("0.1250")
    assert RoutingRule.objects.get(estimate_comparison="gte").estimate_value == Decimal("12500.50")


# --------------------------------------------------------------------------------------------------
# Dry run and the diff
# --------------------------------------------------------------------------------------------------


def test_dry_run_prints_the_diff_and_changes_nothing(tmp_path):
    document = exported()
    entry(document, "signals", key="seat_utilisation")["threshold"] = 0.95
    entry(document, "gates", name="Tenure at least 120 days")["value"] = "90"
    document["signals"].append({**entry(document, "signals", key="team_spread"), "key": "team_spread_90d"})
    before = saved_state()

    out, _ = run("apply", write(tmp_path, document), "--dry-run")

    assert "  ~ signals[seat_utilisation].threshold: 0.9 -> 0.95\n" in out
    assert '  ~ gates[Tenure at least 120 days].value: "120" -> "90"\n' in out
    assert "  + signals[team_spread_90d]: added\n" in out
    assert "Changes (3):" in out
    assert "Dry run: nothing was changed." in out
    assert saved_state() == before


def test_the_service_returns_the_diff_lines():
    document = exported()
    document["sla_policy"]["sla_hours_high"] = 12
    result = config_files.config_apply(text=cy.dump(document), name="p.yaml", dry_run=True)
    assert result.ok
    assert not result.applied
    assert result.diff == ["~ sla_policy.sla_hours_high: 24 -> 12"]
    # Only routing changed: the scoring configuration is the same, so nothing is replayed.
    assert result.backtest == [
        "Backtest: the active signals, gates and EQL policy are unchanged; nothing to replay."
    ]


# --------------------------------------------------------------------------------------------------
# Bad files: a clear error naming the path; nothing changes
# --------------------------------------------------------------------------------------------------


def _edited(change) -> str:
    """The saved configuration exported, with a valid change (which must not be written either) and
    ``change``."""
    document = exported()
    entry(document, "signals", key="api_rate_approach")["threshold"] = 0.8
    change(document)
    return cy.dump(document)


def _set(section: str, key: dict, field: str, value):
    def change(document):
        entry(document, section, **key)[field] = value

    return change


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "version: 1\nsignals:\n  - key: seat_utilisation\n   name: Seats\n",
            "playbook.yaml: line 4, column 4: YAML syntax error: while parsing a block collection "
            "expected <block end>, but found '<block mapping start>'",
            id="syntax",
        ),
        pytest.param(
            _set("signals", {"key": "seat_utilisation"}, "colour", "red"),
            "playbook.yaml: signals[seat_utilisation].colour: unknown field; the fields are: key, name, ",
            id="unknown-field",
        ),
        pytest.param(
            _set("signals", {"key": "seat_utilisation"}, "priority", "urgent"),
            'playbook.yaml: signals[seat_utilisation].priority: "urgent" is not one of the choices: '
            '"high", "medium", "watch"',
            id="bad-choice",
        ),
        pytest.param(
            _set("signals", {"key": "seat_utilisation"}, "threshold", "lots"),
            'playbook.yaml: signals[seat_utilisation].threshold: expected a number, got text "lots"',
            id="wrong-type",
        ),
        pytest.param(
            _set("gates", {"name": "Tenure at least 120 days"}, "value", 120),
            "playbook.yaml: gates[Tenure at least 120 days].value: expected text, got a number 120; "
            'put it in quotes: "120"',
            id="number-for-text",
        ),
        pytest.param(
            lambda d: d["eql_policy"].update(score_threshold=160),
            "playbook.yaml: eql_policy.score_threshold: must be score_threshold ≤ 100",
            id="check-constraint",
        ),
        pytest.param(
            _set("signals", {"key": "export_volume"}, "points", 5),
            "playbook.yaml: signals[export_volume].points: Watch signals never count toward the score; "
            "set points to 0.",
            id="admin-form-rule",
        ),
        pytest.param(
            lambda d: d["signals"].append(dict(d["signals"][0])),
            "playbook.yaml: signals[api_rate_approach]: listed twice (entries 1 and 7)",
            id="duplicate",
        ),
        pytest.param(
            lambda d: d.pop("gates"),
            "playbook.yaml: gates: missing section (gates: [] for none)",
            id="missing-section",
        ),
        pytest.param(
            lambda d: d.update(gates=None),
            "playbook.yaml: gates: expected a list of gates, got nothing (null)",
            id="empty-section",
        ),
        pytest.param(
            "version: 1\nversion: 1\n",
            "playbook.yaml: line 2, column 1: YAML syntax error: the key 'version' is given twice",
            id="duplicate-key",
        ),
    ],
)
def test_a_bad_file_names_the_path_and_changes_nothing(tmp_path, text, expected):
    if callable(text):
        text = _edited(text)
    before = saved_state()

    err = run_failing("apply", write(tmp_path, text))

    assert expected in err, err
    assert saved_state() == before


def test_several_errors_are_all_reported(tmp_path):
    document = exported()
    entry(document, "signals", key="seat_utilisation")["threshold"] = "lots"
    entry(document, "signals", key="team_spread")["persistence_days"] = 0
    del entry(document, "signals", key="automation_depth")["threshold"]
    err = run_failing("apply", write(tmp_path, document))
    assert err.splitlines() == [
        "playbook.yaml: signals[automation_depth].threshold: missing; it is required (a number)",
        'playbook.yaml: signals[seat_utilisation].threshold: expected a number, got text "lots"',
        "playbook.yaml: signals[team_spread].persistence_days: must be persistence_days ≥ 1",
    ]


def test_a_write_refused_half_way_rolls_back_everything(tmp_path, monkeypatch):
    """The signal change is written before the gate's; the gate's failure undoes it."""
    document = exported()
    entry(document, "signals", key="seat_utilisation")["threshold"] = 0.95
    entry(document, "gates", name="Tenure at least 120 days")["value"] = "90"
    path = write(tmp_path, document)
    before = saved_state()
    saves = []

    def refuse(self, *args, **kwargs):
        saves.append(self.name)
        raise IntegrityError("disk full")

    monkeypatch.setattr(Gate, "save", refuse)

    err = run_failing("apply", path, "--skip-backtest")

    assert "playbook.yaml: gates[Tenure at least 120 days]: the database refused it: disk full" in err
    assert saves == ["Tenure at least 120 days"]
    assert saved_state() == before
    assert SignalDefinition.objects.get(key="seat_utilisation").threshold == 0.9


# --------------------------------------------------------------------------------------------------
# History, deletions
# --------------------------------------------------------------------------------------------------


def test_apply_records_history_with_the_file_and_the_user(tmp_path):
    user = UserFactory(email="revops@example.com")
    document = exported()
    entry(document, "signals", key="seat_utilisation")["threshold"] = 0.95
    path = write(tmp_path, document)

    out, _ = run("apply", path, "--user", "REVOPS@example.com", "--skip-backtest")

    assert "Applied 1 change(s)" in out
    signal = SignalDefinition.objects.get(key="seat_utilisation")
    assert signal.threshold == 0.95
    record = signal.history.latest("history_id")
    assert record.history_type == "~"
    assert record.history_change_reason == "config apply playbook.yaml"
    assert record.history_user == user
    assert record.prev_record.threshold == 0.9
    # Nothing else was saved: unchanged rows get no history row.
    assert SignalDefinition.history.filter(history_change_reason__startswith="config apply").count() == 1
    assert not Gate.history.filter(history_change_reason__startswith="config apply").exists()


def test_apply_by_an_unknown_user_is_refused(tmp_path):
    with pytest.raises(CommandError, match=r"nobody has the email ghost@example\.com"):
        run("apply", write(tmp_path, config_files.config_export()), "--user", "ghost@example.com")


def test_a_signal_left_out_of_the_file_is_deleted(tmp_path):
    document = exported()
    document["signals"] = [s for s in document["signals"] if s["key"] != "team_spread"]

    out, _ = run("apply", write(tmp_path, document), "--skip-backtest")

    assert "  - signals[team_spread]: removed\n" in out
    assert not SignalDefinition.objects.filter(key="team_spread").exists()
    deleted = SignalDefinition.history.filter(key="team_spread").latest("history_id")
    assert deleted.history_type == "-"
    assert deleted.history_change_reason.startswith("config apply ")


def test_a_signal_left_out_but_named_by_eqls_is_switched_off(tmp_path):
    EQLFactory(primary_signal="team_spread")
    EQLFactory(primary_signal="team_spread")
    document = exported()
    document["signals"] = [s for s in document["signals"] if s["key"] != "team_spread"]

    out, _ = run("apply", write(tmp_path, document), "--skip-backtest")

    assert (
        "  - signals[team_spread]: switched off (not removed: the primary signal of 2 stored EQL(s))\n"
    ) in out
    assert SignalDefinition.objects.get(key="team_spread").active is False
    # Applying the same file again changes nothing more.
    out, _ = run("apply", write(tmp_path, document), "--skip-backtest")
    assert "No changes" in out


def test_a_stage_sla_left_out_is_switched_off_not_deleted(tmp_path):
    document = exported()
    document["stage_slas"] = [s for s in document["stage_slas"] if s["status"] != "proposal_sent"]
    out, _ = run("apply", write(tmp_path, document))
    assert "- stage_slas[proposal_sent]: switched off" in out
    assert StageSla.objects.get(status="proposal_sent").active is False


# --------------------------------------------------------------------------------------------------
# The backtest
# --------------------------------------------------------------------------------------------------


def test_apply_prints_the_backtest_of_the_file_against_the_saved_configuration(tmp_path, history):
    document = exported()
    entry(document, "gates", name="Tenure at least 120 days")["value"] = "100000"
    path = write(tmp_path, document)
    before = saved_state()

    out, _ = run("apply", path, "--dry-run")

    lines = out.splitlines()
    (head,) = [line for line in lines if line.startswith("Backtest, every 7 days from ")]
    assert head.endswith("on 3 accounts (saved configuration -> playbook.yaml):")
    (eqls,) = [line for line in lines if line.startswith("  EQLs: ")]
    saved = int(eqls.split()[1])
    # No account has 100,000 days of tenure: the file's gate blocks every EQL.
    assert saved > 0
    assert eqls == f"  EQLs: {saved} -> 0 ({-saved:+d}); {saved} EQL(s) would no longer be created"
    assert "  EQLs by primary signal:" in lines
    assert saved_state() == before

    result = config_files.config_apply(text=cy.dump(document), name="p.yaml", dry_run=True)
    assert result.backtest_results["saved"]["eqls"] == saved
    assert result.backtest_results["file"]["eqls"] == 0


# --------------------------------------------------------------------------------------------------
# The YAML helpers (no database)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [(Decimal("0.1500"), "0.15"), (Decimal("10000.00"), "10000.0"), (Decimal("0"), "0.0")],
)
def test_decimals_are_written_as_plain_numbers_that_read_back_equal(value, text):
    dumped = cy.dump({"x": value})
    assert dumped == f"{cy.HEADER}x: {text}\n"
    assert Decimal(repr(cy.load(dumped)["x"])) == value


# --------------------------------------------------------------------------------------------------
# Inline children (INLINES): shown on a parent with children today, a CRM connection's stage mappings
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def crm_sections(monkeypatch):
    """The file made of CRM connections with their stage mappings as inline children."""
    monkeypatch.setattr(
        config_files, "SECTIONS", (config_files.Section("crm_connections", CrmConnection, ("name",)),)
    )
    monkeypatch.setattr(config_files, "INLINES", {CrmConnection: ("stages",)})
    connection = CrmConnection.objects.create(
        name="sf", kind="salesforce", object_type="Opportunity", upsert_key="EQL_Id__c"
    )
    CrmStageMap.objects.create(connection=connection, eql_status="new", crm_stage="Prospecting")
    CrmStageMap.objects.create(connection=connection, eql_status="won", crm_stage="Closed Won")
    return connection


def test_inline_children_are_exported_under_their_parent_and_applied_by_position(tmp_path, crm_sections):
    document = exported()
    (sf,) = document["crm_connections"]
    assert sf["stages"] == [
        {"eql_status": "new", "crm_stage": "Prospecting"},
        {"eql_status": "won", "crm_stage": "Closed Won"},
    ]
    sf["stages"][0]["crm_stage"] = "Qualification"
    sf["stages"][1] = {"eql_status": "lost", "crm_stage": "Closed Lost"}
    sf["stages"].append({"eql_status": "won", "crm_stage": "Closed Won"})
    hs = {**sf, "name": "hs", "kind": "hubspot", "object_type": "deals", "upsert_key": "eql_id"}
    document["crm_connections"].insert(0, hs)  # the export's order: by name
    text = cy.dump(document)

    out, _ = run("apply", write(tmp_path, text), "--skip-backtest")

    assert out.splitlines()[1:] == [
        "  + crm_connections[hs]: added",
        "  + crm_connections[hs].stages[1]: added",
        "  + crm_connections[hs].stages[2]: added",
        "  + crm_connections[hs].stages[3]: added",
        '  ~ crm_connections[sf].stages[1].crm_stage: "Prospecting" -> "Qualification"',
        '  ~ crm_connections[sf].stages[2].eql_status: "won" -> "lost"',
        '  ~ crm_connections[sf].stages[2].crm_stage: "Closed Won" -> "Closed Lost"',
        "  + crm_connections[sf].stages[3]: added",
        "Applied 8 change(s) from playbook.yaml.",
    ]
    assert config_files.config_export() == text
    hs = CrmConnection.objects.get(name="hs")
    assert list(hs.stages.values_list("eql_status", flat=True)) == ["new", "lost", "won"]
    changed = CrmStageMap.history.filter(history_change_reason="config apply playbook.yaml")
    assert changed.filter(history_type="~").count() == 2
    assert changed.filter(history_type="+").count() == 4


def test_inline_children_left_out_are_removed_and_bad_ones_named(tmp_path, crm_sections):
    document = exported()
    document["crm_connections"][0]["stages"] = [{"eql_status": "new", "crm_stage": "Prospecting"}]
    out, _ = run("apply", write(tmp_path, document), "--skip-backtest")
    assert "  - crm_connections[sf].stages[2]: removed\n" in out
    assert list(crm_sections.stages.values_list("eql_status", flat=True)) == ["new"]

    document["crm_connections"][0]["stages"] = [
        {"eql_status": "new", "crm_stage": "Prospecting", "colour": "red"},
        {"eql_status": "sold", "crm_stage": "Closed Won"},
        {"eql_status": "new", "crm_stage": "Qualification"},
    ]
    err = run_failing("apply", write(tmp_path, document))
    assert err.splitlines() == [
        "playbook.yaml: crm_connections[sf].stages[1].colour: unknown field; the fields are: eql_status, "
        "crm_stage",
        'playbook.yaml: crm_connections[sf].stages[2].eql_status: "sold" is not one of the choices: '
        + ", ".join(f'"{s}"' for s in crm_payload.STATUSES),
        "playbook.yaml: crm_connections[sf].stages[3]: the same eql_status as stages[1] (This EQL status "
        "already has a CRM stage.)",
    ]
    assert crm_sections.stages.count() == 1


def test_rows_sharing_a_natural_key_are_refused_with_what_to_rename(tmp_path):
    path = write(tmp_path, config_files.config_export())
    RoutingRule.objects.create(name="Otherwise: CSM-led simplified process", order=60, route="csm")
    message = (
        r"routing_rules\[Otherwise: CSM-led simplified process\]: 2 saved routing rules have this name; "
        r"give each its own in admin"
    )
    with pytest.raises(CommandError, match=message):
        run("export")
    before = saved_state()
    err = run_failing("apply", path)
    assert err == (
        "playbook.yaml: routing_rules[Otherwise: CSM-led simplified process]: 2 saved routing rules have "
        "this name; give each its own in admin first\n"
    )
    assert saved_state() == before
