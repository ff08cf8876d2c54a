"""REST API views (thin: validation in serializers, work in services)."""

from __future__ import annotations

import logging
import tempfile
from typing import IO

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from expansion import serializers
from expansion.importing import FILE_ORDER
from expansion.models import Role
from expansion.services import EventsRejected, ImportRejected, events_ingest, import_file

logger = logging.getLogger(__name__)

#: Bytes copied per read while spooling a raw CSV body to memory/disk.
COPY_CHUNK_BYTES = 1024 * 1024
NOTHING_WRITTEN = "nothing from this file was written"


class IsRevOps(BasePermission):
    """RevOps (or a superuser) may change data; every other role is read-only."""

    message = "Only RevOps may import the warehouse export; your role can read but not change data."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and (user.is_superuser or getattr(user, "role", "") == Role.REVOPS)
        )


class UploadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The upload is larger than the import limit."
    default_code = "upload_too_large"


class CSVParser(BaseParser):
    """Declares ``text/csv``; the import view streams such a body itself instead of parsing it."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream


def _too_large(size: int | None, limit: int) -> UploadTooLarge:
    what = f"The upload is {size:,} bytes" if size is not None else "The upload is too large"
    return UploadTooLarge(
        f"{what}; the import limit is {limit:,} bytes (IMPORT_MAX_UPLOAD_BYTES). "
        "Split the file, or load it on the server with `manage.py import_data`."
    )


def _declared_size(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _copy_limited(source: IO[bytes] | None, target: IO[bytes], limit: int) -> None:
    """Copy a raw body into ``target`` chunk by chunk, refusing more than ``limit`` bytes."""
    size = 0
    while source is not None and (chunk := source.read(COPY_CHUNK_BYTES)):
        size += len(chunk)
        if size > limit:
            raise _too_large(None, limit)
        target.write(chunk)
    target.seek(0)


class ImportFileView(APIView):
    """``POST /api/import/{file}``: one warehouse export CSV, with the same validation as ``import_data``."""

    permission_classes = [IsAuthenticated, IsRevOps]
    parser_classes = [CSVParser, MultiPartParser]

    def initial(self, request, *args, **kwargs):
        # Refuse an oversized upload from its Content-Length before anything reads the body
        # (session authentication's CSRF check would otherwise parse a multipart body first).
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        size = _declared_size(request)
        if size > limit:
            raise _too_large(size, limit)
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="import_file",
        summary="Import one warehouse export CSV",
        description=(
            "Loads one file of the warehouse export (contract.md) with the same validation as "
            "`manage.py import_data`: upsert by id, one transaction per file, and a file with any invalid "
            "row is rejected whole with every problem listed as `file:line: column: reason`. Send the CSV "
            "as the raw body (`Content-Type: text/csv`) or as the multipart field `file`. RevOps only; "
            "bodies above IMPORT_MAX_UPLOAD_BYTES are refused with 413 before they are read. Unless you are "
            "a superuser, a users.csv row that would create or change a superuser, RevOps or Finance "
            "account is an invalid row (`users.csv:line: role: only a superuser may ...`)."
        ),
        tags=["import"],
        parameters=[
            OpenApiParameter(
                "file",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                enum=list(FILE_ORDER),
                description="Which export file this is; decides how the rows are read.",
            )
        ],
        request={
            "text/csv": OpenApiTypes.BINARY,
            "multipart/form-data": serializers.ImportUploadSerializer,
        },
        responses={
            200: serializers.ImportResultSerializer,
            400: OpenApiResponse(
                serializers.ImportRejectedSerializer,
                description="The file was rejected whole; nothing from it was written.",
                examples=[
                    OpenApiExample(
                        "Rejected",
                        value={
                            "file": "accounts.csv",
                            "errors": ["accounts.csv:4: contract_arr: -5 must not be negative"],
                            "detail": f"accounts.csv rejected: 1 problem(s); {NOTHING_WRITTEN}",
                        },
                    )
                ],
            ),
            401: OpenApiResponse(serializers.DetailSerializer, description="Not authenticated."),
            403: OpenApiResponse(serializers.DetailSerializer, description="Only RevOps may import."),
            404: OpenApiResponse(serializers.ImportUnknownFileSerializer, description="Unknown file name."),
            413: OpenApiResponse(
                serializers.DetailSerializer, description="Larger than IMPORT_MAX_UPLOAD_BYTES."
            ),
        },
    )
    def post(self, request: Request, file: str) -> Response:
        if file not in FILE_ORDER:
            body = {"detail": f"unknown file {file!r}; expected one of {', '.join(FILE_ORDER)}"}
            return Response({**body, "valid_files": list(FILE_ORDER)}, status=status.HTTP_404_NOT_FOUND)
        # A raw body is spooled (in memory while small, then on disk) so any size streams through pandas.
        with tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE) as spool:
            stream = self._upload(request, spool)
            if stream is None:
                reason = (
                    f"{file}: file: no CSV in the request; send it as the body (Content-Type: text/csv) "
                    "or as the multipart field 'file'"
                )
                return self._rejected(ImportRejected(file, [reason]))
            try:
                result = import_file(name=file, stream=stream, by=request.user)
            except ImportRejected as exc:
                logger.info(
                    "api import rejected file=%s user=%s problems=%d", file, request.user, len(exc.errors)
                )
                return self._rejected(exc)
        logger.info("api import file=%s user=%s rows=%d", file, request.user, result.rows)
        data = serializers.ImportResultSerializer({"file": file, **result.as_dict()}).data
        return Response(data, status=status.HTTP_200_OK)

    @staticmethod
    def _upload(request: Request, spool: IO[bytes]) -> IO[bytes] | None:
        """The uploaded CSV as a binary stream: the multipart field ``file``, or the raw body in ``spool``."""
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if request.content_type.startswith("multipart/form-data"):
            upload = request.FILES.get("file")
            if upload is None:
                return None
            if upload.size > limit:
                raise _too_large(upload.size, limit)
            upload.seek(0)
            return upload.file
        _copy_limited(request.stream, spool, limit)
        return spool

    @staticmethod
    def _rejected(exc: ImportRejected) -> Response:
        data = serializers.ImportRejectedSerializer(
            {"file": exc.name, "errors": exc.errors, "detail": str(exc)}
        ).data
        return Response(data, status=status.HTTP_400_BAD_REQUEST)


def error_lines(errors, prefix: str = "") -> list[str]:
    """A serializer's nested errors as ``events[3].occurred_at: reason`` lines."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            if key == "non_field_errors":
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            lines += error_lines(value, path)
        return lines
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [f"{prefix or 'body'}: {e}" for e in errors]
        lines = []
        for index, value in enumerate(errors):
            if value:
                lines += error_lines(value, f"{prefix}[{index}]")
        return lines
    return [f"{prefix or 'body'}: {errors}"]


class EventsView(APIView):
    """``POST /api/events/``: a batch of product events, validated like events.csv, all or nothing."""

    permission_classes = [IsAuthenticated, IsRevOps]

    @extend_schema(
        operation_id="events_ingest",
        summary="Send product events",
        description=(
            "Stores up to 1000 product events by the events.csv rules (contract.md): event_id unique "
            "(at most 128 characters), a known account_id, occurred_at an ISO 8601 datetime (no offset = "
            "UTC) at most 1 day in the future, event a name of a-z 0-9 _ . : - (at most 120), properties "
            "a JSON object (optional). All or nothing: a batch with any invalid event is refused with "
            "every problem as `events[i].field: reason`. Idempotent by event_id: an id already stored is "
            "counted under `duplicates` and skipped. 201 when anything was created, else 200. Who may "
            "send: as for the import (RevOps or a superuser; session or token)."
        ),
        tags=["import"],
        request=serializers.EventsIngestSerializer,
        responses={
            200: OpenApiResponse(
                serializers.EventsResultSerializer, description="Nothing new (all duplicates)."
            ),
            201: OpenApiResponse(serializers.EventsResultSerializer, description="New events were stored."),
            400: OpenApiResponse(
                serializers.EventsRejectedSerializer,
                description="The batch was refused whole; nothing from it was written.",
                examples=[
                    OpenApiExample(
                        "Rejected",
                        value={
                            "errors": [
                                "events[3].occurred_at: cannot read 'soon' as an ISO date "
                                "(YYYY-MM-DD) or datetime"
                            ]
                        },
                    )
                ],
            ),
            401: OpenApiResponse(serializers.DetailSerializer, description="Not authenticated."),
            403: OpenApiResponse(serializers.DetailSerializer, description="Only RevOps may send events."),
        },
    )
    def post(self, request: Request) -> Response:
        body = serializers.EventsIngestSerializer(data=request.data)
        if not body.is_valid():
            return Response({"errors": error_lines(body.errors)}, status=status.HTTP_400_BAD_REQUEST)
        try:
            result = events_ingest(rows=body.validated_data["events"], by=request.user)
        except EventsRejected as exc:
            logger.info("api events rejected user=%s problems=%d", request.user, len(exc.errors))
            return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
        data = serializers.EventsResultSerializer(result.as_dict()).data
        return Response(data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
