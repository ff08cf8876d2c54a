"""Forms of the inbox (the queue filters, one lifecycle event) and of the attribution log's filters."""

from __future__ import annotations

import re

from django import forms

from dashboards.inbox import SORTS, QueueFilters
from expansion.models import AttributionEntry, EQLStatus, Route
from routing import lifecycle
from routing.models import NotificationPreference
from routing.services import SLACK_DAILY_CAP_MAX
from scoring.models import Priority, SignalDefinition

STATUS_CHOICES = [
    ("open", "Open"),
    *[(s, label) for s, label in EQLStatus.choices if s in lifecycle.OPEN],
    ("closed", "Closed"),
    ("all", "All"),
]


class QueueFilterForm(forms.Form):
    """Queue filters; every field is optional and an invalid value is ignored, not an error page."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    route = forms.ChoiceField(label="Route", choices=[("", "Any route"), *Route.choices], required=False)
    priority = forms.ChoiceField(
        label="Priority",
        choices=[("", "Any priority"), *[(p, label.split(" (")[0]) for p, label in Priority.choices]],
        required=False,
    )
    signal = forms.ChoiceField(label="Primary signal", choices=[("", "Any signal")], required=False)
    overdue = forms.BooleanField(label="Overdue only", required=False)
    owner = forms.ChoiceField(label="Owner", choices=[("", "Anyone")], required=False)
    sort = forms.ChoiceField(label="Sort by", choices=[], required=False)

    def __init__(
        self,
        *args,
        signals: dict[str, SignalDefinition] | None = None,
        owners: list[tuple[str, str]] | None = None,
        **kwargs,
    ):
        """``owners``: the people the viewer may filter by (``inbox.owner_choices``); none means the
        viewer sees only their own queue, so there is no owner filter or owner sort."""
        super().__init__(*args, **kwargs)
        self.fields["signal"].choices = [("", "Any signal")] + [
            (key, s.name) for key, s in (signals or {}).items()
        ]
        self.fields["owner"].choices = [("", "Anyone"), *(owners or [])]
        self.fields["sort"].choices = [
            (key, label) for key, (label, _order) in SORTS.items() if owners or key != "owner"
        ]

    def filters(self) -> QueueFilters:
        """The valid filters (fields with an invalid value fall back to their default)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return QueueFilters(
            status=data.get("status") or "open",
            route=data.get("route") or "",
            priority=data.get("priority") or "",
            signal=data.get("signal") or "",
            overdue=bool(data.get("overdue")),
            q=(data.get("q") or "").strip(),
            owner=data.get("owner") or "",
            sort=data.get("sort") or "",
        )

    @property
    def active_count(self) -> int:
        """How many filters narrow the default queue (for the 'clear filters' link)."""
        f = self.filters()
        return sum(
            [
                f.status != "open",
                bool(f.route),
                bool(f.priority),
                bool(f.signal),
                f.overdue,
                bool(f.q),
                bool(f.owner),
            ]
        )


class EventForm(forms.Form):
    """One lifecycle event posted from the inbox (the same fields as the API's event body)."""

    type = forms.ChoiceField(choices=[(e, e) for e in lifecycle.EVENTS])
    note = forms.CharField(required=False, max_length=5000)
    reason = forms.CharField(required=False, max_length=64)
    expansion_arr = forms.DecimalField(
        required=False, max_digits=14, decimal_places=2, min_value=0, label="Expansion ARR"
    )
    next = forms.CharField(required=False, max_length=2000)

    def splits(self) -> list[dict] | None:
        """The contribution split of a co-owned win (``split_email``/``split_percent`` pairs), if sent."""
        emails = self.data.getlist("split_email") if hasattr(self.data, "getlist") else []
        percents = self.data.getlist("split_percent") if hasattr(self.data, "getlist") else []
        lines = []
        for email, percent in zip(emails, percents, strict=False):
            if not email.strip() and not percent.strip():
                continue
            try:
                value = int(percent)
            except ValueError:
                value = -1  # refused by the split rules with a clear message
            lines.append({"email": email.strip(), "percent": value})
        return lines or None

    def error_text(self) -> str:
        """All field errors as one sentence a person can act on."""
        parts = []
        for name, errors in self.errors.items():
            field = self.fields.get(name)
            label = (field.label or name.replace("_", " ")) if field else ""
            for error in errors:
                parts.append(f"{label}: {error}" if label else str(error))
        return " ".join(parts)


#: A close period (YYYY-MM) and a quarter (YYYY-Qn), as the attribution log filters them.
PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_RE = re.compile(r"^(\d{4})-Q([1-4])$")


class LogFilterForm(forms.Form):
    period = forms.CharField(required=False, help_text="YYYY-MM or YYYY-Qn (close period)")
    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    team = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Team (manager)")
    account = forms.CharField(required=False, help_text="Account id or name")
    signal = forms.ChoiceField(required=False, label="Primary signal")
    credit_type = forms.ChoiceField(
        required=False, choices=[("", "Any"), *AttributionEntry.CreditType.choices], label="Credit"
    )

    def __init__(self, *args, people=(), managers=(), signals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone"), *[(u.pk, u.display_name) for u in people]]
        self.fields["team"].choices = [("", "Any team"), *[(u.pk, u.display_name) for u in managers]]
        self.fields["signal"].choices = [("", "Any signal"), *[(k, n) for k, n in signals]]

    def clean_period(self) -> str:
        value = (self.cleaned_data.get("period") or "").strip()
        if value and not (PERIOD_RE.match(value) or QUARTER_RE.match(value)):
            raise forms.ValidationError(
                "Use YYYY-MM (a month) or YYYY-Qn (a quarter), e.g. 2025-04 or 2025-Q2."
            )
        return value


class NotificationPreferenceForm(forms.Form):
    """A person's own notification preference (routing.NotificationPreference)."""

    channels = forms.ChoiceField(
        label="Tell me about new and changed EQLs by",
        choices=NotificationPreference.Channels.choices,
        widget=forms.RadioSelect,
    )
    slack_daily_cap = forms.IntegerField(
        label="Most Slack alerts a day",
        required=False,
        min_value=0,
        max_value=SLACK_DAILY_CAP_MAX,
        help_text="Alerts past this stay in the app and your weekly digest. Empty: the team default.",
    )
