"""The configuration file's text: YAML to plain values and back, paths and values as messages show them.

Pure (no Django): ``scoring.config_files`` maps models to the plain dicts this module reads and writes.
The dump is deterministic (keys in the order given, lists as given), so the same configuration always
gives the same bytes; every scalar reads back as the value it was written from.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import yaml

#: The file format's version, the document's ``version`` key.
VERSION = 1
#: Lines longer than this are folded (the value reads back unchanged).
LINE_WIDTH = 100
#: Text values longer than this are shortened in the diff.
SHOWN_TEXT_LENGTH = 60
HEADER = (
    "# Playbook configuration (signals, gates, policies, routing). Apply with:\n"
    "#   manage.py config apply FILE [--dry-run]\n"
    "# Entries left out of a list are removed; a field left out takes its default.\n"
)


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key, multi-line text as a literal block."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: no &anchors a reader has to follow


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def decimal_text(value: Decimal) -> str:
    """A decimal as a plain YAML float: fewest digits, always a point (0.1500 -> 0.15, 1E+4 -> 10000.0)."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:float", decimal_text(value))


_Dumper.add_representer(str, _text)
_Dumper.add_representer(Decimal, _decimal)


def dump(document: dict[str, Any]) -> str:
    """The document as YAML text, with the header comment."""
    body = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=LINE_WIDTH,
    )
    return HEADER + body


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) or key is None:
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"the key {key!r} is given twice", key_node.start_mark
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


class YamlError(ValueError):
    """The text is not valid YAML; ``where`` is 'line L, column C' when the parser knows it."""

    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def load(text: str) -> Any:
    """The document of ``text`` (plain dicts, lists, scalars); raises YamlError."""
    try:
        return yaml.load(text, Loader=_Loader)  # nosec B506: _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p) or "not valid YAML"
        raise YamlError(where, f"YAML syntax error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise YamlError("", f"YAML syntax error: {exc}") from exc


def entry_label(key: tuple[Any, ...]) -> str:
    """An entry's natural key as paths show it: ``seat_utilisation``, ``declined/other``."""
    return "/".join(str(part) for part in key)


def show(value: Any) -> str:
    """A value as the diff shows it: YAML-like scalars, long text shortened."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if len(value) > SHOWN_TEXT_LENGTH or "\n" in value:
            first = value.splitlines()[0] if value.strip() else ""
            start = json.dumps(first[:SHOWN_TEXT_LENGTH], ensure_ascii=False)[:-1]
            return f'{start}…" ({len(value)} characters)'
        return json.dumps(value, ensure_ascii=False)
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SHOWN_TEXT_LENGTH else f"{text[:SHOWN_TEXT_LENGTH]}…"


def type_name(value: Any) -> str:
    """What a YAML value is, in words: 'text', 'a number', 'true/false', 'a list'..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
