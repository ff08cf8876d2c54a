"""``POST /slack/interactions/``: Slack's signed button clicks and modal submissions.

Checks the signature and timestamp (older than 5 minutes is refused), queues the work and answers at
once (Slack wants an answer within 3 seconds); ``routing.slack.tasks.slack_interaction`` applies it."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from routing.slack import tasks

logger = logging.getLogger(__name__)


@csrf_exempt  # Slack signs the request instead (X-Slack-Signature over the raw body)
@require_POST
def interactions(request: HttpRequest) -> HttpResponse:
    if not settings.SLACK_SIGNING_SECRET:
        return HttpResponse("The Slack app is not connected (SLACK_SIGNING_SECRET is not set).", status=403)
    verifier = SignatureVerifier(settings.SLACK_SIGNING_SECRET)
    body = request.body
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not timestamp.isdigit() or not verifier.is_valid(
        body=body, timestamp=timestamp, signature=request.headers.get("X-Slack-Signature", "")
    ):
        logger.warning("slack interaction refused: bad signature or timestamp older than 5 minutes")
        return HttpResponse("Invalid Slack signature or stale timestamp.", status=401)
    try:
        payload = json.loads(request.POST["payload"])
    except (KeyError, ValueError):
        return HttpResponse("Expected a form field 'payload' with Slack's JSON.", status=400)
    if not isinstance(payload, dict):
        return HttpResponse("Expected a form field 'payload' with Slack's JSON.", status=400)
    tasks.slack_interaction.delay(payload)
    # An empty 200 acknowledges a click and closes a submitted modal.
    return HttpResponse(status=200)
