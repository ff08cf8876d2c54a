"""The change history of what moves EQLs and credit: signals, gates, routing rules, reason codes, the
EQL and SLA policies (django-simple-history records, read a page at a time)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Value
from django.db.models.fields import CharField

from routing.models import ReasonCode, RoutingRule, SlaPolicy
from scoring.models import EqlPolicy, Gate, SignalDefinition

#: What the change history covers: key -> (label, model).
TRACKED = {
    "signal": ("Signal", SignalDefinition),
    "gate": ("Gate", Gate),
    "routing_rule": ("Routing rule", RoutingRule),
    "reason_code": ("Reason code", ReasonCode),
    "policy": ("EQL policy", EqlPolicy),
    "sla_policy": ("SLA policy", SlaPolicy),
}
#: Fields that change on every save and say nothing about the configuration.
UNTRACKED_FIELDS = ("updated_at",)


@dataclass
class FieldChange:
    field: str
    old: object
    new: object


@dataclass
class ChangeRow:
    when: object
    who: str
    kind: str
    subject: str
    action: str
    changes: list[FieldChange]
    note: str


def history_union(kinds: list[str]):
    parts = [
        TRACKED[k][1]
        .history.order_by()
        .annotate(tracked_kind=Value(k, output_field=CharField()))
        .values_list("tracked_kind", "history_id", "history_date")
        for k in kinds
    ]
    union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return union.order_by("-history_date", "-history_id")


def _label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # a field removed since the record was written
        return name


def change_rows(page_items: list[tuple[str, int, object]]) -> list[ChangeRow]:
    """Load the page's historical records and their predecessors (two queries per kind at most)."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, history_id, _ in page_items:
        by_kind[kind].append(history_id)
    records = {}
    previous = {}
    for kind, ids in by_kind.items():
        model = TRACKED[kind][1]
        history = model.history.model
        found = {
            h.history_id: h for h in history.objects.select_related("history_user").filter(history_id__in=ids)
        }
        records.update({(kind, hid): h for hid, h in found.items()})
        newest = max(h.history_date for h in found.values())
        object_ids = {h.id for h in found.values()}
        trail: dict[int, list] = defaultdict(list)
        for h in history.objects.filter(id__in=object_ids, history_date__lte=newest).order_by(
            "id", "history_date", "history_id"
        ):
            trail[h.id].append(h)
        for h in found.values():
            chain = trail[h.id]
            position = next(i for i, x in enumerate(chain) if x.history_id == h.history_id)
            previous[(kind, h.history_id)] = chain[position - 1] if position > 0 else None
    rows = []
    for kind, history_id, _ in page_items:
        record = records[(kind, history_id)]
        prev = previous[(kind, history_id)]
        model = TRACKED[kind][1]
        action = {"+": "created", "~": "changed", "-": "deleted"}.get(
            record.history_type, record.history_type
        )
        changes = []
        if prev is None and record.history_type == "~":
            action = "changed (first recorded version: the earlier values are not on record)"
        if prev is not None and record.history_type != "-":
            delta = record.diff_against(prev, excluded_fields=UNTRACKED_FIELDS)
            changes = [FieldChange(_label(model, c.field), c.old, c.new) for c in delta.changes]
        user = record.history_user
        rows.append(
            ChangeRow(
                when=record.history_date,
                who=(user.display_name if user else "system (migration or script)"),
                kind=TRACKED[kind][0],
                subject=str(record.instance),
                action=action,
                changes=changes,
                note=record.history_change_reason or "",
            )
        )
    return rows
