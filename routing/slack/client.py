"""Calls to Slack's Web API through slack-sdk, with Slack's failures mapped to named exceptions.

The bot token comes from the environment only (``SLACK_BOT_TOKEN``) and is never stored or logged
(slack-sdk redacts the Authorization header in its debug log)."""

from __future__ import annotations

import urllib.error

from django.conf import settings
from django.core.cache import cache
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

#: Slack answers that retrying will not fix: the delivery fails at once with the reason.
FINAL_ERRORS = frozenset(
    {
        "users_not_found",
        "user_not_found",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "message_not_found",
        "cant_update_message",
        "invalid_blocks",
        "msg_too_long",
        "user_disabled",
        "cannot_dm_bot",
    }
)
#: Slack's documented pace for posting: about one message per second per channel.
CHANNEL_INTERVAL_SECONDS = 1


class SlackFailed(Exception):
    """A Web API call failed; ``final`` when a retry cannot help; ``retry_after`` seconds for a 429."""

    def __init__(self, message: str, *, final: bool, retry_after: float | None = None, error: str = ""):
        super().__init__(message)
        self.final = final
        self.retry_after = retry_after
        self.error = error


def app_enabled() -> bool:
    """The Slack app is connected (a bot token is set); otherwise the incoming-webhook mode is used."""
    return bool(settings.SLACK_BOT_TOKEN)


def web_client() -> WebClient:
    return WebClient(
        token=settings.SLACK_BOT_TOKEN,
        base_url=settings.SLACK_API_BASE,
        timeout=int(max(settings.SLACK_TIMEOUT_SECONDS, 1)),
    )


def _retry_after(headers) -> float:
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(float(value), 1.0)
            except (TypeError, ValueError):
                break
    return 30.0


def call(method: str, **params) -> dict:
    """Call one Web API method with JSON params; return its data or raise SlackFailed."""
    try:
        response = web_client().api_call(method, json=params)
    except SlackApiError as exc:
        status = exc.response.status_code
        error = str(exc.response.get("error", "")) if exc.response.data else ""
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(exc.response.headers)
            raise SlackFailed(
                f"Slack {method}: rate limited, retry after {retry_after:.0f} s",
                final=False,
                retry_after=retry_after,
                error="ratelimited",
            ) from exc
        raise SlackFailed(
            f"Slack {method}: {error or f'HTTP {status}'}", final=error in FINAL_ERRORS, error=error
        ) from exc
    except (SlackClientError, OSError, urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise SlackFailed(f"Slack {method}: {type(exc).__name__}: {exc}", final=False) from exc
    return dict(response.data) if isinstance(response.data, dict) else {}


def channel_wait(channel: str) -> float:
    """Take the channel's one-message-per-second slot: 0 when taken now, else seconds to wait.

    The slot is a cache key living one second (Redis in deployments, shared by every worker)."""
    if cache.add(f"slack:channel:{channel}", 1, timeout=CHANNEL_INTERVAL_SECONDS):
        return 0.0
    return float(CHANNEL_INTERVAL_SECONDS)
