"""Configuration as files: the playbook configuration RevOps edits in admin, as one YAML document.

``config_export`` writes every section below (``SECTIONS``) with each row's concrete editable fields
(introspected, so a field added to a model later is exported and applied without a change here) under
its natural key, sorted by that key, with no database ids; child models edited with their parent are
listed under it (``INLINES``). ``config_apply`` reads such a document, validates all of it (types,
choices, the admin form's rules, the model's ``full_clean``), prints the difference to the database
and the backtest of the candidate configuration against the saved one, and writes everything in one
transaction or nothing. Rows missing from the file are deleted, except those still referred to
(``Section.references``) or that admin never deletes (``Section.absent``): those are switched off.

Export -> apply -> export gives the same bytes. The file format is described in docs/contract.md.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import DatabaseError, models, transaction
from django.http import HttpRequest

from expansion.models import EQL
from routing.models import ReasonCode, RoutingRule, SelfServeTemplate, SlaPolicy, StageSla
from scoring import backtest_services, selectors
from scoring import config as cfg
from scoring import config_yaml as cy
from scoring.models import EqlPolicy, Gate, SignalDefinition

#: What happens to a saved row the file leaves out.
DELETE = "delete"
SWITCH_OFF = "switch_off"
#: history_change_reason is a CharField(max_length=100).
CHANGE_REASON_LENGTH = 100


def _signal_references(signal: SignalDefinition) -> int:
    return EQL.objects.filter(primary_signal=signal.key).count()


def _reason_references(reason: ReasonCode) -> int:
    return EQL.objects.filter(close_reason=reason.code).count()


@dataclass(frozen=True)
class Section:
    """One top-level key of the file: a model's rows, named by their natural key.

    ``key`` empty: the model has one row (a policy) and the section is a mapping of its fields.
    ``references(row)`` counts what still names a row; a referred row left out of the file is
    switched off (``active: false``) instead of deleted, with ``references_text`` saying why.
    """

    name: str
    model: type[models.Model]
    key: tuple[str, ...] = ()
    absent: str = DELETE
    references: Callable[[Any], int] | None = None
    references_text: str = ""

    @property
    def singleton(self) -> bool:
        return not self.key

    @property
    def noun(self) -> str:
        return str(self.model._meta.verbose_name_plural)


SECTIONS: tuple[Section, ...] = (
    Section(
        "signals",
        SignalDefinition,
        ("key",),
        references=_signal_references,
        references_text="the primary signal of {n} stored EQL(s)",
    ),
    Section("gates", Gate, ("name",)),
    Section("eql_policy", EqlPolicy),
    Section("routing_rules", RoutingRule, ("name",)),
    Section(
        "reason_codes",
        ReasonCode,
        ("kind", "code"),
        references=_reason_references,
        references_text="the close reason of {n} stored EQL(s)",
    ),
    Section("sla_policy", SlaPolicy),
    # Admin never deletes a stage SLA (its history stays with the row): one left out is switched off.
    Section("stage_slas", StageSla, ("status",), absent=SWITCH_OFF),
    Section("self_serve_templates", SelfServeTemplate, ("name",)),
)

#: Child models edited with their parent (admin inlines): parent model -> related names. A child has
#: a ForeignKey to the parent; its rows are listed under the parent in the child model's ordering and
#: matched by position on apply (the first listed updates the first saved, and so on).
#: ``SignalDefinition: ("conditions",)``: a trigger's extra conditions (``scoring.SignalCondition``).
INLINES: dict[type[models.Model], tuple[str, ...]] = {SignalDefinition: ("conditions",)}


class ConfigExportError(ValueError):
    """The saved configuration cannot be written as a file (e.g. two rows share a natural key)."""


@dataclass
class ConfigApplyResult:
    """What ``config_apply`` found and did: ``errors`` (each ``file: path: reason``), ``diff`` lines
    (``+`` added, ``-`` removed or switched off, ``~ path.field: old -> new``), ``backtest`` summary lines."""

    ok: bool
    applied: bool = False
    dry_run: bool = False
    errors: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)
    backtest: list[str] = field(default_factory=list)
    backtest_results: dict[str, Any] | None = None


# --------------------------------------------------------------------------------------------------
# Models <-> plain values
# --------------------------------------------------------------------------------------------------


def _fields(model: type[models.Model], *, key: tuple[str, ...] = (), parent_fk: str = "") -> list:
    """The concrete editable fields of ``model`` (natural key first, then in the model's order)."""
    found = []
    for f in model._meta.concrete_fields:
        if f.primary_key or not f.editable or f.name == parent_fk:
            continue
        if f.is_relation:
            raise ConfigExportError(
                f"{model._meta.label}.{f.name} refers to another table; configuration files do not "
                "carry references yet (add the model to INLINES or leave the field out)."
            )
        found.append(f)
    return sorted(found, key=lambda f: key.index(f.name) if f.name in key else len(key))


def _inlines(model: type[models.Model]) -> list[tuple[str, type[models.Model], str]]:
    """(related name, child model, child's FK to the parent) of each registered inline of ``model``."""
    out = []
    for name in INLINES.get(model, ()):
        relation = model._meta.get_field(name)
        out.append((name, relation.related_model, relation.field.name))
    return out


def _export_value(f, obj: models.Model) -> Any:
    value = f.value_from_object(obj)
    if value is None or isinstance(value, str | bool | int | float | Decimal | list | dict):
        return value
    return f.value_to_string(obj)


def _row(obj: models.Model, key: tuple[str, ...] = ()) -> dict[str, Any]:
    data = {f.name: _export_value(f, obj) for f in _fields(type(obj), key=key)}
    for name, child_model, fk in _inlines(type(obj)):
        child_fields = _fields(child_model, parent_fk=fk)
        data[name] = [
            {f.name: _export_value(f, child) for f in child_fields}
            for child in (getattr(obj, name).all() if obj.pk else ())
        ]
    return data


def _key_of(obj: models.Model, section: Section) -> tuple[Any, ...]:
    return tuple(getattr(obj, k) for k in section.key)


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if part is None else str(part) for part in key)


def _singleton_row(model: type[models.Model]) -> models.Model | None:
    return model.objects.order_by("pk").first()


def _grouped(section: Section) -> dict[tuple[Any, ...], list[models.Model]]:
    rows: dict[tuple[Any, ...], list[models.Model]] = {}
    queryset = section.model.objects.all()
    if _inlines(section.model):
        queryset = queryset.prefetch_related(*INLINES[section.model])
    for obj in queryset:
        rows.setdefault(_key_of(obj, section), []).append(obj)
    return rows


def config_document() -> dict[str, Any]:
    """The saved playbook configuration as plain values: ``{"version": 1, section: rows...}``."""
    document: dict[str, Any] = {"version": cy.VERSION}
    for section in SECTIONS:
        if section.singleton:
            document[section.name] = _row(_singleton_row(section.model) or section.model())
            continue
        grouped = _grouped(section)
        for key, rows in grouped.items():
            if len(rows) > 1:
                raise ConfigExportError(
                    f"{section.name}[{cy.entry_label(key)}]: {len(rows)} saved {section.noun} have this "
                    f"{'/'.join(section.key)}; give each its own in admin (the file names them by it)."
                )
        document[section.name] = [
            _row(rows[0], section.key) for key, rows in sorted(grouped.items(), key=lambda i: _sort_key(i[0]))
        ]
    return document


def config_export() -> str:
    """The saved playbook configuration as YAML text (``manage.py config export``)."""
    return cy.dump(config_document())


# --------------------------------------------------------------------------------------------------
# Reading a file: plain values -> validated, unsaved model instances
# --------------------------------------------------------------------------------------------------


class _BadValue(ValueError):
    pass


def _expected(f) -> str:
    if isinstance(f, models.BooleanField):
        return "true or false"
    if isinstance(f, models.IntegerField):
        return "a whole number"
    if isinstance(f, models.FloatField | models.DecimalField):
        return "a number"
    if isinstance(f, models.CharField | models.TextField):
        return "text"
    return "a value"


def _got(raw: Any) -> str:
    return "got nothing (null)" if raw is None else f"got {cy.type_name(raw)} {cy.show(raw)}"


def _convert(f, raw: Any) -> Any:
    """A YAML value as field ``f`` stores it; raises _BadValue with a message RevOps can act on."""
    if raw is None:
        if f.null:
            return None
        if isinstance(f, models.CharField | models.TextField):
            raise _BadValue('expected text, got null (write "" for none)')
        raise _BadValue(f"expected {_expected(f)}, got null")
    if isinstance(f, models.BooleanField):
        if not isinstance(raw, bool):
            raise _BadValue(f"expected true or false, {_got(raw)}")
        value: Any = raw
    elif isinstance(f, models.IntegerField):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _BadValue(f"expected a whole number, {_got(raw)}")
        value = raw
    elif isinstance(f, models.FloatField):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise _BadValue(f"expected a number, {_got(raw)}")
        value = float(raw)
    elif isinstance(f, models.DecimalField):
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise _BadValue(f"expected a number, {_got(raw)}")
        try:
            value = Decimal(repr(raw) if isinstance(raw, float) else str(raw).strip())
        except InvalidOperation:
            raise _BadValue(f"expected a number, {_got(raw)}") from None
        if not value.is_finite():
            raise _BadValue(f"expected a number, {_got(raw)}")
    elif isinstance(f, models.CharField | models.TextField):
        if not isinstance(raw, str):
            hint = f'; put it in quotes: "{raw}"' if isinstance(raw, int | float) else ""
            raise _BadValue(f"expected text, {_got(raw)}{hint}")
        value = raw
    elif isinstance(f, models.JSONField):
        value = raw
    else:
        try:
            value = f.to_python(raw)
        except ValidationError as exc:
            raise _BadValue("; ".join(exc.messages)) from None
    if f.choices:
        allowed = [k for k, _ in f.flatchoices]
        if value not in allowed and not (value in ("", None) and f.blank):
            shown = ", ".join(cy.show(k) for k in allowed)
            raise _BadValue(f"{cy.show(value)} is not one of the choices: {shown}")
    return value


def _copy(obj: models.Model) -> models.Model:
    return copy.copy(obj)


def _admin_form_errors(instance: models.Model, by) -> dict[str, list[str]]:
    """The model's own admin form's errors for these values (admin's rules beyond the model's), or {}.

    The form is bound to a copy and never saved; the values applied stay the file's (a form strips
    text, which would make export -> apply -> export differ from what admin shows)."""
    model = type(instance)
    if not admin.site.is_registered(model):
        return {}
    request = HttpRequest()
    request.method = "POST"
    request.user = by or AnonymousUser()
    existing = None if instance._state.adding else instance
    form_class = admin.site.get_model_admin(model).get_form(request, existing, change=False)
    data = {}
    for name in form_class.base_fields:
        value = getattr(instance, name, None)
        if value is not None:
            data[name] = value
    form = form_class(data=data, instance=_copy(instance))
    if form.is_valid():
        return {}
    return {name: list(messages) for name, messages in form.errors.items()}


_LOOKUP_SIGNS = {"lte": "≤", "gte": "≥", "lt": "<", "gt": ">", "exact": "="}


def _conditions(q: models.Q) -> list[tuple[str, str]] | None:
    """(field, 'field ≤ 100') for each ``field__lookup=value`` of a check constraint's condition, or
    None when it is not a plain AND of comparisons (its own message says it better)."""
    if q.connector != models.Q.AND or q.negated:
        return None
    out = []
    for child in q.children:
        if isinstance(child, models.Q):
            inner = _conditions(child)
            if inner is None:
                return None
            out.extend(inner)
            continue
        lookup, value = child
        name, _, op = lookup.partition("__")
        if (op or "exact") not in _LOOKUP_SIGNS:
            return None
        out.append((name, f"{name} {_LOOKUP_SIGNS[op or 'exact']} {value}"))
    return out


def _constraint_message(model: type[models.Model], name: str, message: str) -> tuple[str, str]:
    """A violated check constraint's message on its field: its own message if it has one, else the
    rule ('score_threshold: must be score_threshold ≤ 100' for "Constraint ... is violated")."""
    if name != NON_FIELD_ERRORS:
        return name, message
    for constraint in model._meta.constraints:
        condition = getattr(constraint, "condition", None)
        if not isinstance(condition, models.Q) or message != constraint.get_violation_error_message():
            continue
        rules = _conditions(condition) or []
        fields = list(dict.fromkeys(f for f, _ in rules))
        custom = constraint.violation_error_message not in (
            None,
            constraint.default_violation_error_message,
        )
        said = message if custom or not rules else f"must be {' and '.join(rule for _, rule in rules)}"
        return (fields[0] if len(fields) == 1 else name), said
    return name, message


def _build(
    model: type[models.Model],
    fields: list,
    raw: Any,
    base: models.Model | None,
    path: str,
    errors: list[str],
    *,
    by=None,
    extra: Iterable[str] = (),
    parent_fk: str = "",
) -> models.Model | None:
    """An unsaved instance with the entry's values (fields left out: their default), validated."""
    if not isinstance(raw, dict):
        errors.append(f"{path}: expected a mapping of fields, {_got(raw)}")
        return None
    known = [f.name for f in fields] + list(extra)
    for name in raw:
        if name not in known:
            errors.append(f"{path}.{name}: unknown field; the fields are: {', '.join(known)}")
    instance = _copy(base) if base is not None else model()
    bad: set[str] = set()
    for f in fields:
        if f.name in raw:
            try:
                value = _convert(f, raw[f.name])
            except _BadValue as exc:
                errors.append(f"{path}.{f.name}: {exc}")
                bad.add(f.name)
                continue
        elif not f.has_default() and not f.null and not f.blank:
            errors.append(f"{path}.{f.name}: missing; it is required ({_expected(f)})")
            bad.add(f.name)
            continue
        else:
            value = f.get_default()
        setattr(instance, f.attname, value)
    # A child is checked without its parent: its saved siblings are matched by position and may
    # move, so unique constraints over the parent are checked among the file's children instead
    # (``_sibling_errors``).
    unchecked = [parent_fk] if parent_fk else []
    reported: dict[str, list[str]] = _admin_form_errors(instance, by) if not parent_fk else {}
    try:
        instance.full_clean(exclude=[*bad, *unchecked])
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            reported.setdefault(name, []).extend(messages)
    found: dict[str, list[str]] = {}
    for name, messages in reported.items():
        for message in messages:
            where, said = _constraint_message(model, name, message)
            if said not in found.get(where, []):
                found.setdefault(where, []).append(said)
    for name, messages in found.items():
        if name in bad:
            continue
        where = path if name == NON_FIELD_ERRORS else f"{path}.{name}"
        errors.extend(f"{where}: {message}" for message in messages)
    return instance


@dataclass
class _Entry:
    """One row: as saved (``current``), as the file wants it (``candidate``), and what changes."""

    label: str
    action: str  # "add", "change", "same", DELETE, SWITCH_OFF
    current: models.Model | None = None
    candidate: models.Model | None = None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)
    children: list[_Entry] = field(default_factory=list)
    note: str = ""
    parent_fk: str = ""


def _changes(fields: list, current: models.Model, candidate: models.Model) -> list[tuple[str, Any, Any]]:
    out = []
    for f in fields:
        old, new = f.value_from_object(current), f.value_from_object(candidate)
        if old != new:
            out.append((f.name, old, new))
    return out


def _sibling_errors(
    model: type[models.Model], fk: str, children: list[tuple[str, models.Model]]
) -> list[str]:
    """Children of one parent that a unique constraint over the parent forbids together."""
    groups = [
        (tuple(c.fields), c.get_violation_error_message())
        for c in model._meta.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None
    ]
    groups += [(tuple(names), "only one each per parent") for names in model._meta.unique_together]
    errors = []
    for fields, why in groups:
        if fk not in fields:
            continue
        others = [f for f in fields if f != fk]
        first: dict[tuple[Any, ...], str] = {}
        for label, child in children:
            values = tuple(getattr(child, f) for f in others)
            if values in first:
                sibling = first[values].rsplit(".", 1)[-1]
                errors.append(f"{label}: the same {', '.join(others)} as {sibling} ({why})")
            else:
                first[values] = label
    return errors


def _children(
    model: type[models.Model], raw: dict, base: models.Model | None, label: str, errors: list[str]
) -> tuple[list[_Entry], list[str]]:
    entries: list[_Entry] = []
    names: list[str] = []
    for name, child_model, fk in _inlines(model):
        names.append(name)
        fields = _fields(child_model, parent_fk=fk)
        listed = raw.get(name, [])
        if not isinstance(listed, list):
            errors.append(f"{label}.{name}: expected a list, {_got(listed)}")
            continue
        saved = list(getattr(base, name).all()) if base is not None else []
        for i, child_raw in enumerate(listed):
            path = f"{label}.{name}[{i + 1}]"
            current = saved[i] if i < len(saved) else None
            candidate = _build(child_model, fields, child_raw, current, path, errors, parent_fk=fk)
            if candidate is None:
                continue
            if current is None:
                entries.append(_Entry(path, "add", candidate=candidate, parent_fk=fk))
            else:
                changes = _changes(fields, current, candidate)
                action = "change" if changes else "same"
                entries.append(_Entry(path, action, current, candidate, changes, parent_fk=fk))
        built = [e for e in entries if e.label.startswith(f"{label}.{name}[")]
        errors.extend(_sibling_errors(child_model, fk, [(e.label, e.candidate) for e in built]))
        for i in range(len(listed), len(saved)):
            entries.append(_Entry(f"{label}.{name}[{i + 1}]", DELETE, current=saved[i], parent_fk=fk))
    return entries, names


def _switch_off(section: Section, current: models.Model, label: str, note: str) -> _Entry:
    if not current.active:
        return _Entry(label, "same", current, current)
    candidate = _copy(current)
    candidate.active = False
    return _Entry(label, SWITCH_OFF, current, candidate, [("active", True, False)], note=note)


def _absent(section: Section, current: models.Model, label: str) -> _Entry:
    has_active = any(f.name == "active" for f in section.model._meta.concrete_fields)
    if section.absent == SWITCH_OFF and has_active:
        return _switch_off(section, current, label, "not removed: switch it off instead of deleting it")
    if section.references is not None and has_active:
        count = section.references(current)
        if count:
            return _switch_off(
                section, current, label, f"not removed: {section.references_text.format(n=count)}"
            )
    children = [
        _Entry(f"{label}.{name}[{i + 1}]", DELETE, current=child)
        for name, _, _ in _inlines(section.model)
        for i, child in enumerate(getattr(current, name).all())
    ]
    return _Entry(label, DELETE, current=current, children=children)


def _plan_section(section: Section, listed: Any, errors: list[str], by) -> list[_Entry]:
    model = section.model
    if section.singleton:
        current = _singleton_row(model)
        fields = _fields(model)
        extra = [name for name, _, _ in _inlines(model)]
        candidate = _build(model, fields, listed, current, section.name, errors, by=by, extra=extra)
        if candidate is None:
            return []
        children, _ = _children(model, listed, current, section.name, errors)
        if current is None:
            return [_Entry(section.name, "add", candidate=candidate, children=children)]
        changes = _changes(fields, current, candidate)
        action = "change" if changes or any(c.action != "same" for c in children) else "same"
        return [_Entry(section.name, action, current, candidate, changes, children)]

    fields = _fields(model, key=section.key)
    by_name = {f.name: f for f in fields}
    extra = [name for name, _, _ in _inlines(model)]
    saved = _grouped(section)
    seen: dict[tuple[Any, ...], int] = {}
    entries: list[tuple[tuple[str, ...], _Entry]] = []
    for i, raw in enumerate(listed):
        where = f"{section.name}[entry {i + 1}]"
        if not isinstance(raw, dict):
            errors.append(f"{where}: expected a mapping of fields, {_got(raw)}")
            continue
        key: list[Any] = []
        for name in section.key:
            if name not in raw:
                errors.append(f"{where}: missing {name!r} (each of the {section.noun} is named by it)")
                break
            try:
                key.append(_convert(by_name[name], raw[name]))
            except _BadValue as exc:
                errors.append(f"{where}.{name}: {exc}")
                break
        else:
            label = f"{section.name}[{cy.entry_label(tuple(key))}]"
            if tuple(key) in seen:
                errors.append(f"{label}: listed twice (entries {seen[tuple(key)]} and {i + 1})")
                continue
            seen[tuple(key)] = i + 1
            rows = saved.get(tuple(key), [])
            if len(rows) > 1:
                errors.append(
                    f"{label}: {len(rows)} saved {section.noun} have this {'/'.join(section.key)}; "
                    "give each its own in admin first"
                )
                continue
            current = rows[0] if rows else None
            candidate = _build(model, fields, raw, current, label, errors, by=by, extra=extra)
            if candidate is None:
                continue
            children, _ = _children(model, raw, current, label, errors)
            if current is None:
                entry = _Entry(label, "add", candidate=candidate, children=children)
            else:
                changes = _changes(fields, current, candidate)
                moved = changes or any(c.action != "same" for c in children)
                entry = _Entry(label, "change" if moved else "same", current, candidate, changes, children)
            entries.append((_sort_key(tuple(key)), entry))
    for key, rows in saved.items():
        if key in seen or len(rows) != 1:
            continue
        entries.append((_sort_key(key), _absent(section, rows[0], f"{section.name}[{cy.entry_label(key)}]")))
    return [entry for _, entry in sorted(entries, key=lambda item: item[0])]


def _document_errors(document: Any) -> list[str]:
    """The document's shape: a mapping with ``version: 1`` and every section, each of the right kind."""
    names = [s.name for s in SECTIONS]
    if not isinstance(document, dict):
        return [f"expected a mapping with version: {cy.VERSION} and the sections {', '.join(names)}"]
    errors = []
    version = document.get("version")
    if "version" not in document:
        errors.append(f"version: missing; write version: {cy.VERSION} at the top")
    elif version != cy.VERSION or isinstance(version, bool):
        errors.append(f"version: this installation reads version {cy.VERSION}, {_got(version)}")
    for name in document:
        if name != "version" and name not in names:
            errors.append(f"{name}: unknown section; the sections are: {', '.join(names)}")
    for section in SECTIONS:
        if section.name not in document:
            empty = "a mapping of its fields" if section.singleton else f"{section.name}: [] for none"
            errors.append(f"{section.name}: missing section ({empty})")
            continue
        value = document[section.name]
        if section.singleton and not isinstance(value, dict):
            errors.append(f"{section.name}: expected a mapping of fields, {_got(value)}")
        elif not section.singleton and not isinstance(value, list):
            errors.append(f"{section.name}: expected a list of {section.noun}, {_got(value)}")
    return errors


def _plan(document: dict[str, Any], errors: list[str], by) -> list[_Entry]:
    entries: list[_Entry] = []
    for section in SECTIONS:
        entries.extend(_plan_section(section, document[section.name], errors, by))
    return entries


# --------------------------------------------------------------------------------------------------
# Diff and writes
# --------------------------------------------------------------------------------------------------


def _diff_lines(entries: list[_Entry]) -> list[str]:
    lines: list[str] = []
    for entry in entries:
        for item in (entry, *entry.children):
            if item.action == "add":
                lines.append(f"+ {item.label}: added")
            elif item.action == DELETE:
                lines.append(f"- {item.label}: removed")
            elif item.action == SWITCH_OFF:
                lines.append(f"- {item.label}: switched off ({item.note})")
            elif item.action == "change":
                lines.extend(
                    f"~ {item.label}.{name}: {cy.show(old)} -> {cy.show(new)}"
                    for name, old, new in item.changes
                )
    return lines


class _Refused(Exception):
    def __init__(self, label: str, exc: Exception):
        super().__init__(f"{label}: the database refused it: {exc}")


class _Rollback(Exception):
    pass


def _save(entry: _Entry, obj: models.Model, *, delete: bool, by, reason: str) -> None:
    obj._change_reason = reason
    if by is not None:
        obj._history_user = by
    try:
        with transaction.atomic():
            obj.delete() if delete else obj.save()
    except DatabaseError as exc:
        raise _Refused(entry.label, exc) from exc


def _write(entries: list[_Entry], *, by, reason: str) -> int:
    """Deletions first (children before their parent), then additions and changes; the rows written."""
    written = 0
    for entry in entries:
        for child in entry.children:
            if child.action == DELETE:
                _save(child, child.current, delete=True, by=by, reason=reason)
                written += 1
        if entry.action == DELETE:
            _save(entry, entry.current, delete=True, by=by, reason=reason)
            written += 1
    for entry in entries:
        if entry.action == "add" or (entry.action in ("change", SWITCH_OFF) and entry.changes):
            _save(entry, entry.candidate, delete=False, by=by, reason=reason)
            written += 1
        parent = entry.candidate if entry.candidate is not None else entry.current
        for child in entry.children:
            if child.action == "add" or child.action == "change":
                setattr(child.candidate, child.parent_fk, parent)
                _save(child, child.candidate, delete=False, by=by, reason=reason)
                written += 1
    return written


# --------------------------------------------------------------------------------------------------
# Backtest of the candidate configuration against the saved one
# --------------------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _delta(old: float, new: float) -> str:
    change = new - old
    if not change:
        return ""
    return f" ({change:+g})" if isinstance(change, int) else f" ({change:+.2f})"


def backtest_summary(saved: dict[str, Any], edited: dict[str, Any], *, name: str) -> list[str]:
    """Two replays' headline numbers side by side, saved -> edited, and EQLs by primary signal."""
    lines = [
        f"Backtest, every {saved['step_days']} days from {saved['start']} to {saved['end']} on "
        f"{saved['accounts']} accounts (saved configuration -> {name}):",
    ]
    eqls_old, eqls_new = saved["eqls"], edited["eqls"]
    verdict = ""
    if eqls_new > eqls_old:
        verdict = f"; {eqls_new - eqls_old} more EQL(s) would be created"
    elif eqls_new < eqls_old:
        verdict = f"; {eqls_old - eqls_new} EQL(s) would no longer be created"
    lines.append(f"  EQLs: {eqls_old} -> {eqls_new}{_delta(eqls_old, eqls_new)}{verdict}")
    for key, label in (
        ("matched_eqls", "EQLs followed by an expansion"),
        ("matched_expansions", "expansions preceded by an EQL"),
        ("self_serve_eqls", "self-serve EQLs"),
        ("csm_reviews", "CSM reviews"),
    ):
        lines.append(f"  {label}: {saved[key]} -> {edited[key]}{_delta(saved[key], edited[key])}")
    lines.append(f"  EQLs per week: {saved['eqls_per_week']} -> {edited['eqls_per_week']}")
    lines.append(f"  precision: {_pct(saved['precision'])} -> {_pct(edited['precision'])}")
    lines.append(f"  recall: {_pct(saved['recall'])} -> {_pct(edited['recall'])}")
    keys = list(dict.fromkeys([*saved["by_signal"], *edited["by_signal"]]))
    if keys:
        lines.append("  EQLs by primary signal:")
    for key in keys:
        old, new = saved["by_signal"].get(key), edited["by_signal"].get(key)
        if old is None:
            lines.append(f"    {key}: new, {new['eqls']}")
        elif new is None:
            lines.append(f"    {key}: {old['eqls']} -> gone")
        else:
            lines.append(f"    {key}: {old['eqls']} -> {new['eqls']}{_delta(old['eqls'], new['eqls'])}")
    return lines


def _scoring_unchanged(baseline: cfg.ScoringConfig, candidate: cfg.ScoringConfig) -> bool:
    return dataclasses.replace(baseline, version=0) == dataclasses.replace(candidate, version=0)


def _backtest(
    baseline: cfg.ScoringConfig, candidate: cfg.ScoringConfig, *, name: str
) -> tuple[list[str], dict[str, Any] | None]:
    if _scoring_unchanged(baseline, candidate):
        return ["Backtest: the active signals, gates and EQL policy are unchanged; nothing to replay."], None
    if backtest_services.snapshot_last_date() is None:
        return ["Backtest: no usage history is stored yet; nothing to replay."], None
    start, end = backtest_services.preview_period()
    results = backtest_services.backtest_compare(
        start=start,
        end=end,
        step_days=backtest_services.PREVIEW_STEP_DAYS,
        configs={"saved": baseline, "file": candidate},
    )
    return backtest_summary(results["saved"], results["file"], name=name), results


# --------------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------------


def _trial(document: dict[str, Any], *, by, reason: str) -> tuple[list[str], list[_Entry], Any, Any]:
    """Plan and write in a transaction that is always rolled back: errors, entries and the scoring
    configuration before and after (as the pass would load it, inlines and all)."""
    errors: list[str] = []
    entries: list[_Entry] = []
    baseline = candidate = None
    try:
        with transaction.atomic():
            baseline = selectors.scoring_config_load()
            entries = _plan(document, errors, by)
            if not errors:
                try:
                    _write(entries, by=by, reason=reason)
                except _Refused as exc:
                    errors.append(str(exc))
                else:
                    candidate = selectors.scoring_config_load()
            raise _Rollback
    except _Rollback:
        pass
    return errors, entries, baseline, candidate


def config_apply(*, text: str, name: str, dry_run: bool, by=None, backtest: bool = True) -> ConfigApplyResult:
    """Validate the YAML ``text`` (read from ``name``), compute the difference to the saved
    configuration and the backtest of the result, and unless ``dry_run`` write it all in one
    transaction (history rows carry the reason ``config apply <name>`` and the user ``by``).

    Any error: nothing is written and ``errors`` holds ``<name>: <path>: <reason>`` lines."""
    result = ConfigApplyResult(ok=False, dry_run=dry_run)
    try:
        document = cy.load(text)
    except cy.YamlError as exc:
        result.errors = [f"{name}: {exc}"]
        return result
    shape = _document_errors(document)
    if shape:
        result.errors = [f"{name}: {line}" for line in shape]
        return result
    reason = f"config apply {name}"[:CHANGE_REASON_LENGTH]
    errors, entries, baseline, candidate = _trial(document, by=by, reason=reason)
    if errors:
        result.errors = [f"{name}: {line}" for line in dict.fromkeys(errors)]
        return result
    result.diff = _diff_lines(entries)
    if not result.diff:
        result.ok = True
        return result
    if backtest:
        result.backtest, result.backtest_results = _backtest(baseline, candidate, name=name)
    if dry_run:
        result.ok = True
        return result
    try:
        with transaction.atomic():
            errors = []
            entries = _plan(document, errors, by)
            if errors or _diff_lines(entries) != result.diff:
                raise _Rollback
            _write(entries, by=by, reason=reason)
    except _Rollback:
        result.errors = [
            f"{name}: the saved configuration changed while this ran (an edit in admin?); nothing was "
            "changed: run the apply again"
        ]
        return result
    except _Refused as exc:
        result.errors = [f"{name}: {exc}"]
        return result
    result.ok = result.applied = True
    return result
