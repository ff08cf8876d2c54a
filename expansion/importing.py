"""Validation of the warehouse export (contract.md, "Warehouse export"): pure pandas, no ORM.

Each ``validate_<file>`` takes one chunk of a CSV read as strings and returns the parsed rows and
every problem found, as ``file:line: column: reason`` messages a RevOps person can act on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: Files in the order they must load (later files refer to earlier ones).
FILE_ORDER = ("users.csv", "accounts.csv", "usage.csv", "activities.csv", "expansions.csv", "events.csv")

ROLES = ("AE", "CSM", "Manager", "RevOps", "Finance")
SEGMENTS = ("SMB", "MidMarket", "Enterprise")
PLAN_TIERS = ("Starter", "Professional", "Business", "Enterprise")
ACCOUNT_STATUSES = ("active", "churned")
ACTIVITY_TYPES = ("call", "email", "meeting", "proposal", "qbr", "note")
EXPANSION_STATUSES = ("won", "lost", "open")
EXPANSION_TYPES = ("seats", "tier", "module")
BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}

REQUIRED_COLUMNS = {
    "users.csv": ("email", "name", "role"),
    "accounts.csv": (
        "account_id",
        "name",
        "segment",
        "plan_tier",
        "contract_arr",
        "customer_since",
        "status",
    ),
    "usage.csv": ("account_id", "date"),
    "activities.csv": ("activity_id", "account_id", "occurred_at", "type"),
    "expansions.csv": (
        "opportunity_id",
        "account_id",
        "created_date",
        "status",
        "expansion_arr",
        "expansion_type",
        "contract_arr_at_close",
    ),
    "events.csv": ("event_id", "account_id", "occurred_at", "event"),
}
ID_COLUMN = {
    "users.csv": "email",
    "accounts.csv": "account_id",
    "activities.csv": "activity_id",
    "expansions.csv": "opportunity_id",
    "events.csv": "event_id",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: Money columns are stored with 12 digits before the decimal point (DecimalField(14, 2)).
MAX_MONEY = 10**12 - 0.01
#: Whole-number columns stored as 32-bit integers (seats, capacity).
MAX_INT32 = 2**31 - 1
#: Usage limits (API calls per 30 days) are stored as 64-bit integers; beyond 10^15 is surely a typo.
MAX_LIMIT = 10**15
#: A usage value above this is not a measurement (stored as a double; kept well inside exact range).
MAX_USAGE_VALUE = 10**15
#: Longest text each column may hold, as stored (emails double as sign-in names: 150 characters).
MAX_LENGTH = {
    "email": 150,
    "manager_email": 150,
    "ae_email": 150,
    "csm_email": 150,
    "actor_email": 150,
    "name": 200,
    "accounts.csv:name": 255,
    "account_id": 64,
    "activity_id": 64,
    "opportunity_id": 64,
    "metric": 120,
    "owned_modules": 2000,
    "crm_account_id": 18,
    "timezone": 64,
    "admin_email": 254,
    "event_id": 128,
    "event": 120,
}
#: Product event names: lower-case letters, digits and ``_ . : -`` (``invite_blocked_seat_limit``).
EVENT_NAME_RE = re.compile(r"^[a-z0-9_.:-]+$")
#: How far past the server's clock an event's occurred_at may be (clock skew), not more.
EVENT_FUTURE_TOLERANCE = pd.Timedelta(days=1)
#: Events one ``POST /api/events/`` may carry; a larger batch is refused whole.
MAX_EVENTS_PER_REQUEST = 1000
#: First line of data in a CSV file (line 1 is the header).
FIRST_DATA_LINE = 2


@dataclass(frozen=True, order=True)
class RowError:
    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.reason}"


@dataclass
class Checked:
    """A validated chunk: the parsed rows (only the good ones) and the errors found."""

    rows: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)


class HeaderError(ValueError):
    """The file's header does not have what the contract requires."""


def check_header(name: str, columns: Iterable[str], *, label: str | None = None) -> str:
    """Return ``"long"`` or ``"wide"`` (usage only) or raise HeaderError naming what is missing.

    ``label`` names a warehouse table, query or Parquet file instead of the CSV's header line."""
    where = f"{label}: columns" if label else f"{name}:1: header"
    cols = [c.strip() for c in columns]
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in cols]
    if missing:
        raise HeaderError(f"{where}: missing required column(s) {', '.join(missing)}")
    if name != "usage.csv":
        return "long"
    if "metric" in cols and "value" in cols:
        return "long"
    metric_cols = [c for c in cols if c not in ("account_id", "date")]
    if not metric_cols:
        raise HeaderError(
            f"{where}: expected metric,value columns (long format) "
            "or one column per metric after account_id,date (wide format)"
        )
    return "wide"


def _places(number: float) -> int:
    """Decimal places to print a limit with: none for whole numbers, two for money limits."""
    return 0 if float(number).is_integer() else 2


class _Collector:
    """Accumulates per-column errors for one chunk and tracks which rows are bad."""

    def __init__(self, name: str, frame: pd.DataFrame, first_line: int):
        self.name = name
        self.frame = frame
        self.lines = np.arange(first_line, first_line + len(frame))
        self.bad = np.zeros(len(frame), dtype=bool)
        self.errors: list[RowError] = []
        #: Per-row column names to report instead of a derived column (wide usage: the metric's column).
        self.labels: dict[str, np.ndarray] = {}
        self._checked_text: set[str] = set()

    def _check_text(self, column: str, values: pd.Series) -> None:
        """Refuse NUL characters and text longer than the column stores (once per column)."""
        if column in self._checked_text:
            return
        self._checked_text.add(column)
        self.flag(values.str.contains("\x00", regex=False), column, "contains a NUL character")
        limit = MAX_LENGTH.get(f"{self.name}:{column}", MAX_LENGTH.get(column))
        if limit is not None:
            self.flag(
                values.str.len() > limit,
                column,
                lambda v: f"is {len(v.strip())} characters long; at most {limit} are allowed",
            )

    def flag(self, mask: pd.Series | np.ndarray, column: str, reason: str | Callable[[str], str]) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.bad |= mask
        values = self.frame[column].to_numpy() if column in self.frame else None
        labels = self.labels.get(column)
        for idx in np.flatnonzero(mask):
            text = reason(values[idx]) if callable(reason) else reason
            label = column if labels is None else str(labels[idx])
            self.errors.append(RowError(self.name, int(self.lines[idx]), label, text))

    def text(self, column: str) -> pd.Series:
        if column not in self.frame:
            return pd.Series([""] * len(self.frame), index=self.frame.index, dtype=object)
        values = self.frame[column].fillna("").astype(str).str.strip()
        self._check_text(column, values)
        return values

    def required(self, column: str) -> pd.Series:
        values = self.text(column)
        self.flag(values == "", column, "required value is missing")
        return values

    def choice(self, column: str, allowed: Iterable[str], *, required: bool = True) -> pd.Series:
        values = self.required(column) if required else self.text(column)
        allowed = tuple(allowed)
        self.flag(
            (values != "") & ~values.isin(allowed),
            column,
            lambda v: f"unknown value {v.strip()!r}; expected one of {', '.join(allowed)}",
        )
        return values

    def number(
        self,
        column: str,
        *,
        required: bool = True,
        integer: bool = False,
        non_negative: bool = True,
        maximum: float | None = None,
        label: str = "number",
    ) -> pd.Series:
        raw = self.required(column) if required else self.text(column)
        parsed = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
        present = (raw != "").to_numpy()
        unparsable = present & (parsed.isna().to_numpy() | ~np.isfinite(parsed.fillna(0).to_numpy()))
        self.flag(unparsable, column, lambda v: f"cannot read {v.strip()!r} as a {label}")
        ok = present & ~unparsable
        if integer:
            not_int = ok & (parsed.fillna(0) % 1 != 0).to_numpy()
            self.flag(not_int, column, lambda v: f"{v.strip()!r} is not a whole number")
        if non_negative:
            self.flag(
                ok & (parsed.fillna(0) < 0).to_numpy(), column, lambda v: f"{v.strip()} must not be negative"
            )
        if maximum is None and integer:
            maximum = MAX_INT32
        if maximum is not None:
            self.flag(
                ok & (parsed.fillna(0) > maximum).to_numpy(),
                column,
                lambda v: f"{v.strip()} is above the largest allowed value, {maximum:,.{_places(maximum)}f}",
            )
        return parsed

    def date(self, column: str, *, required: bool = True, with_time: bool = False) -> pd.Series:
        raw = self.required(column) if required else self.text(column)
        date_part = raw.str.slice(0, 10)
        parsed = pd.to_datetime(date_part.where(raw != "", None), format="%Y-%m-%d", errors="coerce")
        if with_time:
            has_time = raw.str.len() > 10
            timed = pd.to_datetime(raw.where(has_time, None), errors="coerce", utc=True, format="ISO8601")
            parsed_utc = parsed.dt.tz_localize("UTC")
            parsed = timed.where(has_time, parsed_utc)
        present = (raw != "").to_numpy()
        bad = present & parsed.isna().to_numpy()
        expected = "an ISO date (YYYY-MM-DD) or datetime" if with_time else "an ISO date (YYYY-MM-DD)"
        self.flag(bad, column, lambda v: f"cannot read {v.strip()!r} as {expected}")
        return parsed

    def email(self, column: str, *, required: bool = False) -> pd.Series:
        values = (self.required(column) if required else self.text(column)).str.lower()
        self.flag(
            (values != "") & ~values.str.match(EMAIL_RE),
            column,
            lambda v: f"{v.strip()!r} is not an email address",
        )
        return values

    def known(
        self, column: str, values: pd.Series, known: Callable[[pd.Series], pd.Series], what: str
    ) -> None:
        present = values != ""
        unknown = present & ~known(values)
        self.flag(unknown, column, lambda v: f"unknown {what} {v.strip()!r}")

    def duplicates(self, column: str, values: pd.Series, seen: set[str]) -> None:
        """Flag ids repeated inside the file (``seen`` carries ids from earlier chunks)."""
        dup_here = values.duplicated(keep="first") & (values != "")
        dup_before = values.isin(seen) & (values != "")
        self.flag(dup_here | dup_before, column, lambda v: f"duplicate id {v.strip()!r} in this file")
        seen.update(values[values != ""].tolist())

    def result(self, rows: pd.DataFrame) -> Checked:
        rows = rows.assign(line_no=self.lines)[~self.bad]
        return Checked(rows=rows, errors=sorted(self.errors))


_SALESFORCE_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_HUBSPOT_ID_RE = re.compile(r"^[1-9][0-9]{0,17}$")
_ID_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def salesforce_id_suffix(id15: str) -> str:
    """The three-character case checksum Salesforce appends to a 15-character Id to make it 18.

    Each 5-character block gives one character: bit i is set when character i is an upper-case
    letter, and the 5-bit number indexes ``A..Z0..5``.
    """
    suffix = ""
    for block in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[block * 5 : block * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _ID_SUFFIX_ALPHABET[bits]
    return suffix


def crm_account_id_problem(value: str) -> str | None:
    """Why ``value`` is neither a Salesforce Account Id nor a HubSpot company id (None when it is one)."""
    if _HUBSPOT_ID_RE.match(value):
        return None
    if not _SALESFORCE_ID_RE.match(value):
        return (
            f"{value!r} is not a CRM account id; expected a Salesforce Account Id "
            "(15 or 18 letters and digits) or a HubSpot company id (digits)"
        )
    if len(value) == 18 and value[15:].upper() != salesforce_id_suffix(value[:15]):
        return f"{value!r} is not a valid 18-character Salesforce Id (its last 3 characters do not match)"
    return None


def validate_users(frame: pd.DataFrame, first_line: int, seen: set[str]) -> Checked:
    c = _Collector("users.csv", frame, first_line)
    email = c.email("email", required=True)
    c.duplicates("email", email, seen)
    role = c.choice("role", ROLES)
    manager = c.email("manager_email")
    capacity = c.number("capacity", required=False, integer=True, label="whole number")
    rows = pd.DataFrame(
        {"email": email, "name": c.text("name"), "role": role, "manager_email": manager, "capacity": capacity}
    )
    return c.result(rows)


def validate_accounts(
    frame: pd.DataFrame, first_line: int, seen: set[str], known_user: Callable[[pd.Series], pd.Series]
) -> Checked:
    c = _Collector("accounts.csv", frame, first_line)
    account_id = c.required("account_id")
    c.duplicates("account_id", account_id, seen)
    name = c.required("name")
    segment = c.choice("segment", SEGMENTS)
    plan_tier = c.choice("plan_tier", PLAN_TIERS)
    arr = c.number("contract_arr", maximum=MAX_MONEY, label="money amount")
    since = c.date("customer_since")
    renewal = c.date("renewal_date", required=False)
    seats = c.number("seats_licensed", required=False, integer=True, label="whole number")
    api_limit = c.number(
        "api_limit_30d", required=False, integer=True, maximum=MAX_LIMIT, label="whole number"
    )
    health = c.number("health_score", required=False, integer=True, maximum=100, label="whole number")
    status = c.choice("status", ACCOUNT_STATUSES)
    ae = c.email("ae_email")
    csm = c.email("csm_email")
    c.known("ae_email", ae, known_user, "user (import users.csv first)")
    c.known("csm_email", csm, known_user, "user (import users.csv first)")
    modules = c.text("owned_modules").map(lambda s: sorted({m.strip() for m in s.split(";") if m.strip()}))
    crm_id = c.text("crm_account_id")
    c.flag(
        crm_id.map(lambda v: bool(v) and crm_account_id_problem(v) is not None),
        "crm_account_id",
        lambda v: crm_account_id_problem(v.strip()),
    )
    rows = pd.DataFrame(
        {
            "account_id": account_id,
            "name": name,
            "segment": segment,
            "plan_tier": plan_tier,
            "contract_arr": arr,
            "customer_since": since,
            "renewal_date": renewal,
            "seats_licensed": seats.fillna(0),
            "api_limit_30d": api_limit.fillna(0),
            "owned_modules": modules,
            "health_score": health,
            "status": status,
            "ae_email": ae,
            "csm_email": csm,
        }
    )
    if "crm_account_id" in frame:
        # Only a file that carries the column sets (or clears) the link; without it links stay.
        rows["crm_account_id"] = crm_id
    if "timezone" in frame:
        zone = c.text("timezone")
        zones = _time_zones()
        c.flag(
            zone.map(lambda v: bool(v) and v not in zones),
            "timezone",
            lambda v: (
                f"unknown time zone {v.strip()!r}; use an IANA name such as Europe/Berlin or "
                "America/New_York, or leave it blank for the site time zone"
            ),
        )
        rows["timezone"] = zone
    if "admin_email" in frame:
        rows["admin_email"] = c.email("admin_email")
    return c.result(rows)


def _time_zones() -> frozenset[str]:
    import zoneinfo

    return frozenset(zoneinfo.available_timezones())


def wide_to_long(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn a wide usage chunk (account_id, date, one column per metric) into long rows.

    Empty cells are skipped; the row's line number is kept in ``_src`` for error messages.
    """
    frame = frame.assign(_src=np.arange(len(frame)))
    metric_cols = [c for c in frame.columns if c not in ("account_id", "date", "_src")]
    long = frame.melt(id_vars=["account_id", "date", "_src"], value_vars=metric_cols, var_name="metric")
    long = long[long["value"].fillna("").astype(str).str.strip() != ""]
    return long.sort_values(["_src", "metric"], kind="stable").reset_index(drop=True)


def validate_usage(
    frame: pd.DataFrame, first_line: int, account_pk: Callable[[pd.Series], pd.Series], *, wide: bool = False
) -> Checked:
    """Validate long usage rows; ``account_pk`` maps account ids to internal ids (NaN when unknown)."""
    if wide:
        src = frame
        frame = wide_to_long(src)
        lines = first_line + frame.pop("_src").to_numpy()
        c = _Collector("usage.csv", frame, first_line)
        c.lines = lines
        c.labels["value"] = frame["metric"].to_numpy()
    else:
        c = _Collector("usage.csv", frame, first_line)
    account_id = c.required("account_id")
    pk = account_pk(account_id)
    c.flag((account_id != "") & pk.isna(), "account_id", lambda v: f"usage for unknown account {v.strip()!r}")
    date = c.date("date")
    metric = c.required("metric")
    value = c.number("value", maximum=MAX_USAGE_VALUE, label="number")
    rows = pd.DataFrame({"account": pk, "date": date, "metric": metric, "value": value})
    return c.result(rows)


def usage_batch_certainly_valid(batch, known_account_ids) -> bool:
    """Whether every row of a typed (Arrow) long usage batch passes ``validate_usage``, decided on
    the typed columns without turning them into text: ids among ``known_account_ids`` (an Arrow
    string array), a date column of dates, metric names present, trimmed and short enough, numeric
    values finite, non-negative and at most MAX_USAGE_VALUE. False means "not sure": the batch then
    goes through ``validate_usage`` as text, which names each bad row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    names = set(batch.schema.names)
    if names != {"account_id", "date", "metric", "value"} or batch.num_rows == 0:
        return False

    def column(name):
        values = batch.column(name)
        return values.dictionary_decode() if pa.types.is_dictionary(values.type) else values

    account, date, metric, value = (column(n) for n in ("account_id", "date", "metric", "value"))
    if not (pa.types.is_string(account.type) and pa.types.is_string(metric.type)):
        return False
    if not pa.types.is_date32(date.type) or date.null_count:
        return False
    if not (pa.types.is_integer(value.type) or pa.types.is_floating(value.type)) or value.null_count:
        return False
    if (
        account.null_count
        or metric.null_count
        or not pc.all(pc.is_in(account, value_set=known_account_ids)).as_py()
    ):
        return False
    lengths = pc.utf8_length(metric)
    if pc.min(lengths).as_py() < 1 or pc.max(lengths).as_py() > MAX_LENGTH["metric"]:
        return False
    if not pc.all(pc.equal(metric, pc.utf8_trim_whitespace(metric))).as_py():
        return False
    if pc.any(pc.match_substring(metric, "\x00")).as_py():
        return False
    if pa.types.is_floating(value.type) and not pc.all(pc.is_finite(value)).as_py():
        return False
    low, high = pc.min(value).as_py(), pc.max(value).as_py()
    return low >= 0 and high <= MAX_USAGE_VALUE


def validate_activities(
    frame: pd.DataFrame,
    first_line: int,
    seen: set[str],
    account_known: Callable[[pd.Series], pd.Series],
) -> Checked:
    c = _Collector("activities.csv", frame, first_line)
    activity_id = c.required("activity_id")
    c.duplicates("activity_id", activity_id, seen)
    account_id = c.required("account_id")
    c.known("account_id", account_id, account_known, "account")
    occurred = c.date("occurred_at", with_time=True)
    kind = c.choice("type", ACTIVITY_TYPES)
    actor = c.email("actor_email")
    commercial_raw = c.text("commercial").str.lower()
    c.flag(
        (commercial_raw != "") & ~commercial_raw.isin(list(BOOLEANS)),
        "commercial",
        lambda v: f"unknown value {v.strip()!r}; expected true or false",
    )
    rows = pd.DataFrame(
        {
            "activity_id": activity_id,
            "account_id": account_id,
            "occurred_at": occurred,
            "type": kind,
            "actor_email": actor,
            "commercial": commercial_raw.map(BOOLEANS).fillna(False).astype(bool),
        }
    )
    return c.result(rows)


def validate_expansions(
    frame: pd.DataFrame,
    first_line: int,
    seen: set[str],
    account_known: Callable[[pd.Series], pd.Series],
) -> Checked:
    c = _Collector("expansions.csv", frame, first_line)
    opportunity_id = c.required("opportunity_id")
    c.duplicates("opportunity_id", opportunity_id, seen)
    account_id = c.required("account_id")
    c.known("account_id", account_id, account_known, "account")
    created = c.date("created_date")
    closed = c.date("closed_date", required=False)
    status = c.choice("status", EXPANSION_STATUSES)
    arr = c.number("expansion_arr", maximum=MAX_MONEY, label="money amount")
    kind = c.choice("expansion_type", EXPANSION_TYPES)
    at_close = c.number("contract_arr_at_close", maximum=MAX_MONEY, label="money amount")
    closed_before = (closed.notna() & created.notna() & (closed < created)).to_numpy()
    c.flag(closed_before, "closed_date", "closed_date is before created_date")
    rows = pd.DataFrame(
        {
            "opportunity_id": opportunity_id,
            "account_id": account_id,
            "created_date": created,
            "closed_date": closed,
            "status": status,
            "expansion_arr": arr,
            "expansion_type": kind,
            "contract_arr_at_close": at_close,
        }
    )
    return c.result(rows)


class _NotFinite(ValueError):
    """NaN or Infinity in JSON text (Python reads them; the database's JSON type refuses them)."""


def _refuse_constant(name: str):
    raise _NotFinite(name)


def _json_object_problem(text: str) -> str | None:
    """Why ``text`` is not a JSON object (None when it is one, or blank: no properties)."""
    if not text:
        return None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except _NotFinite as exc:
        return f"holds {exc}, which JSON does not allow; write null or a number"
    except ValueError as exc:
        return f"is not valid JSON ({exc.msg} at character {exc.pos}); expected a JSON object such as {{}}"
    if not isinstance(value, dict):
        return f"is a JSON {type(value).__name__}, not an object; expected a JSON object such as {{}}"
    return None


def events_batch_problem(count: int) -> str | None:
    """Why a batch of ``count`` API events is refused whole (None when it is small enough)."""
    if count <= MAX_EVENTS_PER_REQUEST:
        return None
    return (
        f"{count:,} events in one request; at most {MAX_EVENTS_PER_REQUEST:,} are allowed, "
        "send them in batches"
    )


def _first_on_line(line: int) -> str:
    return f"first on line {line}"


def validate_events(
    frame: pd.DataFrame,
    first_line: int,
    seen: dict[str, int],
    account_pk: Callable[[pd.Series], pd.Series],
    *,
    now: pd.Timestamp,
    where: Callable[[int], str] = _first_on_line,
    scope: str = "this file",
) -> Checked:
    """Validate product event rows (events.csv, a source's ``events`` input, ``POST /api/events/``).

    ``seen`` maps event ids of earlier chunks to their line; ``account_pk`` maps account ids to our
    pks (NaN when unknown); an event more than EVENT_FUTURE_TOLERANCE after ``now`` is refused.
    ``where``/``scope`` word the duplicate message (a file's lines, or an API batch's items)."""
    c = _Collector("events.csv", frame, first_line)
    event_id = c.required("event_id")
    present = event_id != ""
    lines = pd.Series(c.lines, index=frame.index)
    first = event_id.map(seen).fillna(lines.groupby(event_id.to_numpy()).transform("min")).astype("int64")
    duplicate = (present & (first != lines)).to_numpy()
    c.bad |= duplicate
    for idx in np.flatnonzero(duplicate):
        reason = f"duplicate event_id {event_id.iloc[idx]!r} in {scope} ({where(int(first.iloc[idx]))})"
        c.errors.append(RowError(c.name, int(c.lines[idx]), "event_id", reason))
    for value, line in zip(event_id[present & ~duplicate], lines[present & ~duplicate], strict=True):
        seen.setdefault(value, int(line))
    account_id = c.required("account_id")
    pk = account_pk(account_id)
    c.flag((account_id != "") & pk.isna(), "account_id", lambda v: f"unknown account {v.strip()!r}")
    occurred = c.date("occurred_at", with_time=True)
    latest = now + EVENT_FUTURE_TOLERANCE
    c.flag(
        (occurred.notna() & (occurred > latest)).to_numpy(),
        "occurred_at",
        lambda v: f"{v.strip()} is more than 1 day in the future (server time {now:%Y-%m-%dT%H:%M}Z)",
    )
    event = c.required("event")
    c.flag(
        (event != "") & ~event.str.match(EVENT_NAME_RE),
        "event",
        lambda v: f"{v.strip()!r} is not an event name; use only lower-case letters, digits and _ . : -",
    )
    properties = c.text("properties")
    c.flag(
        properties.map(lambda v: _json_object_problem(v) is not None).to_numpy(dtype=bool),
        "properties",
        lambda v: _json_object_problem(str(v).strip()),
    )
    rows = pd.DataFrame(
        {
            "event_id": event_id,
            "account": pk,
            "occurred_at": occurred,
            "event": event,
            "properties": properties.map(
                lambda v: json.loads(v) if v and _json_object_problem(v) is None else {}
            ),
        }
    )
    return c.result(rows)


#: Roles only a superuser may create or change through users.csv (mirrors ``expansion.roles``).
PRIVILEGED_ROLES = ("RevOps", "Finance")
ASK_A_SUPERUSER = "; ask a superuser to import this row (or to run manage.py import_data)"


@dataclass(frozen=True)
class ExistingUser:
    """What users.csv can change about a person already in the database."""

    name: str
    role: str
    manager_email: str
    capacity: int | None
    is_superuser: bool = False


def check_privileged_users(rows: pd.DataFrame, existing: dict[str, ExistingUser]) -> list[RowError]:
    """Rows (already validated) that would create or change a superuser, RevOps or Finance account.

    For an importer who is not a superuser: such rows are refused (the file is rejected whole). A row
    equal to what is stored changes nothing and passes, so re-importing the same export still works.
    """
    errors = []
    for r in rows.itertuples(index=False):
        capacity = None if pd.isna(r.capacity) else int(r.capacity)
        now = existing.get(r.email)
        if now is None:
            if r.role in PRIVILEGED_ROLES:
                reason = f"only a superuser may create a {r.role} user ({r.email})"
                errors.append(RowError("users.csv", int(r.line_no), "role", reason + ASK_A_SUPERUSER))
            continue
        wanted = ExistingUser(r.name, r.role, r.manager_email, capacity, now.is_superuser)
        if wanted == now:
            continue
        if now.is_superuser:
            reason = f"only a superuser may change {r.email}, a superuser's account"
        elif now.role in PRIVILEGED_ROLES:
            reason = f"only a superuser may change {r.email}, a {now.role} user"
        elif r.role in PRIVILEGED_ROLES:
            reason = f"only a superuser may give {r.email} the {r.role} role"
        else:
            continue
        errors.append(RowError("users.csv", int(r.line_no), "role", reason + ASK_A_SUPERUSER))
    return errors
