"""API input and output shapes (contract.md, "REST API")."""

from __future__ import annotations

from rest_framework import serializers

from expansion.importing import FILE_ORDER, MAX_EVENTS_PER_REQUEST, events_batch_problem


class ImportUploadSerializer(serializers.Serializer):
    """``POST /api/import/{file}`` as a multipart form: the CSV in the ``file`` field."""

    file = serializers.FileField(help_text="The export CSV (UTF-8, header row), e.g. accounts.csv.")


class ImportResultSerializer(serializers.Serializer):
    """A file that loaded: how many data rows it had and how many records it created or changed."""

    file = serializers.ChoiceField(choices=FILE_ORDER)
    rows = serializers.IntegerField(min_value=0, help_text="Data rows read (the header not counted).")
    created = serializers.IntegerField(min_value=0)
    updated = serializers.IntegerField(min_value=0, help_text="Existing records whose values changed.")


class ImportRejectedSerializer(serializers.Serializer):
    """A file that was rejected whole: every problem, and nothing from it written."""

    file = serializers.CharField()
    errors = serializers.ListField(
        child=serializers.CharField(),
        help_text="One `file:line: column: reason` message per problem.",
    )
    detail = serializers.CharField()


class ImportUnknownFileSerializer(serializers.Serializer):
    detail = serializers.CharField()
    valid_files = serializers.ListField(child=serializers.CharField(), help_text="The file names accepted.")


class DetailSerializer(serializers.Serializer):
    """An error answer with only a human-readable reason."""

    detail = serializers.CharField()


class EventInSerializer(serializers.Serializer):
    """One product event of ``POST /api/events/``; the events.csv rules check the values."""

    event_id = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=None,
        help_text="Required: the event's unique id (at most 128 characters).",
    )
    account_id = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Required: a known account id."
    )
    occurred_at = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Required: ISO 8601 datetime (no offset = UTC); at most 1 day in the future.",
    )
    event = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Required: the event name (at most 120 characters of a-z 0-9 _ . : -), e.g. "
        "invite_blocked_seat_limit.",
    )
    properties = serializers.JSONField(
        required=False, allow_null=True, help_text="Optional: a JSON object; missing or null = {}."
    )


class EventsIngestSerializer(serializers.Serializer):
    """``POST /api/events/``: a batch of product events, stored all or nothing."""

    events = EventInSerializer(
        many=True, max_length=MAX_EVENTS_PER_REQUEST, help_text=f"At most {MAX_EVENTS_PER_REQUEST} events."
    )

    def to_internal_value(self, data):
        # The batch limit first, so an oversized batch is refused before each item is read.
        events = data.get("events") if isinstance(data, dict) else None
        if isinstance(events, list) and (problem := events_batch_problem(len(events))):
            raise serializers.ValidationError({"events": [problem]})
        return super().to_internal_value(data)


class EventsResultSerializer(serializers.Serializer):
    """A batch that was stored: events received, newly created, and already stored (skipped)."""

    received = serializers.IntegerField(min_value=0)
    created = serializers.IntegerField(min_value=0)
    duplicates = serializers.IntegerField(min_value=0, help_text="Event ids already stored; skipped.")


class EventsRejectedSerializer(serializers.Serializer):
    """A batch that was rejected whole: every problem as ``events[i].field: reason``."""

    errors = serializers.ListField(child=serializers.CharField())
