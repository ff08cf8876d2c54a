"""Error pages that never show a stack trace: a database outage answers 503 with a retry hint.

Django calls ``server_error`` for any uncaught exception (DEBUG off). While PostgreSQL restarts or a
connection drops, the request gets a short "try again" page (JSON for API clients) and a
``Retry-After`` header instead of a generic 500; the next request opens a fresh connection.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The database is briefly unavailable. Nothing was changed; try again in a few seconds."


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _database_outage(exc: BaseException | None) -> bool:
    """Connection refused, dropped or closed: what a restart or failover raises (not a bad query)."""
    return isinstance(exc, OperationalError | InterfaceError)


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if _database_outage(exc):
        logger.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
        if _wants_json(request):
            response = JsonResponse({"detail": UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if _wants_json(request):
        return JsonResponse({"detail": "Server error. It has been logged; please try again."}, status=500)
    return HttpResponse(loader.render_to_string("500.html"), status=500)


class NotFoundPageMiddleware:
    """The product's 404 page in debug mode too (``make run``): Django's debug 404 lists every URL
    pattern of the project, which nobody using the product should be shown. JSON answers (the API)
    and htmx fragments are left as they are."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and response.get("Content-Type", "").startswith("text/html")
            and not request.headers.get("HX-Request")
            and not _wants_json(request)
        ):
            return render(request, "404.html", status=404)
        return response
