"""API input and output shapes (contract.md, "REST API")."""

from __future__ import annotations

from rest_framework import serializers

from expansion.importing import FILE_ORDER


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
