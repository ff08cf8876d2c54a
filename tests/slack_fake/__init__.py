"""A local fake of the Slack Web API methods the app calls, on pytest-httpserver, in Slack's shapes.

Answers ``{"ok": true, ...}`` or ``{"ok": false, "error": "..."}`` with HTTP 200 as Slack does; a rate
limit is HTTP 429 with ``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``. Also builds
interaction requests as Slack sends them: a form-encoded ``payload=`` JSON body signed with
``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`` and
``X-Slack-Request-Timestamp``."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.parse
from dataclasses import dataclass, field

from werkzeug import Request, Response

METHODS = (
    "chat.postMessage",
    "chat.update",
    "chat.postEphemeral",
    "views.open",
    "users.lookupByEmail",
    "users.info",
)
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # test value only
BOT_TOKEN = "xoxb-test-token-not-real"


@dataclass
class Call:
    method: str
    params: dict
    authorization: str


@dataclass
class SlackFake:
    """State of the fake workspace: users by email, messages by (channel, ts), the calls made."""

    server: object
    users: dict[str, str] = field(default_factory=dict)  # email -> user id
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict] = field(default_factory=dict)
    #: method -> list of queued failures, each ("error", name) or ("429", retry_after) or ("500", "")
    failures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    down: bool = False
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        return self.server.url_for("/api/")

    def add_user(self, email: str, user_id: str) -> None:
        self.users[email.lower()] = user_id

    def fail(self, method: str, kind: str, value: str = "") -> None:
        self.failures.setdefault(method, []).append((kind, value))

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    # ---- the server side -------------------------------------------------------------------------
    def install(self) -> None:
        for method in METHODS:
            self.server.expect_request(f"/api/{method}").respond_with_handler(
                lambda request, m=method: self._handle(m, request)
            )

    def _handle(self, method: str, request: Request) -> Response:
        params = (request.get_json() or {}) if request.is_json else dict(request.form.items())
        self.calls.append(Call(method, params, request.headers.get("Authorization", "")))
        if self.down:
            return Response("upstream connect error", status=503)
        if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
            return self._json({"ok": False, "error": "not_authed"})
        queued = self.failures.get(method) or []
        if queued:
            kind, value = queued.pop(0)
            if kind == "429":
                return self._json(
                    {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": value}
                )
            if kind == "500":
                return Response("internal error", status=500)
            return self._json({"ok": False, "error": value})
        return self._json(getattr(self, "_" + method.replace(".", "_"))(params))

    @staticmethod
    def _json(data: dict, *, status: int = 200, headers: dict | None = None) -> Response:
        return Response(
            json.dumps(data), status=status, headers=headers or {}, content_type="application/json"
        )

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _chat_postMessage(self, p: dict) -> dict:
        channel = p.get("channel", "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("U"):  # a user id: Slack posts in the app's DM with that user
            channel = "D" + channel[1:]
        ts = self._next_ts()
        message = {
            "type": "message",
            "text": p.get("text", ""),
            "blocks": p.get("blocks", []),
            "ts": ts,
            "bot_id": "B0FAKE",
        }
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, p: dict) -> dict:
        key = (p.get("channel", ""), p.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = {**self.messages[key], "text": p.get("text", ""), "blocks": p.get("blocks", [])}
        return {"ok": True, "channel": key[0], "ts": key[1], "text": p.get("text", "")}

    def _chat_postEphemeral(self, p: dict) -> dict:
        if not p.get("channel") or not p.get("user"):
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, p: dict) -> dict:
        if not p.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        return {"ok": True, "view": {**p.get("view", {}), "id": f"V{next(self._ts):08d}"}}

    def _users_lookupByEmail(self, p: dict) -> dict:
        user_id = self.users.get(p.get("email", "").lower())
        if not user_id:
            return {"ok": False, "error": "users_not_found"}
        return {"ok": True, "user": {"id": user_id, "team_id": "T0FAKE", "profile": {"email": p["email"]}}}

    def _users_info(self, p: dict) -> dict:
        for email, user_id in self.users.items():
            if user_id == p.get("user"):
                return {"ok": True, "user": {"id": user_id, "profile": {"email": email}}}
        return {"ok": False, "error": "user_not_found"}

    # ---- what Slack sends the app ----------------------------------------------------------------
    def element(self, channel: str, ts: str, action_id: str) -> dict:
        """An interactive element of a message as the fake holds it now."""
        for block in self.messages[(channel, ts)]["blocks"]:
            for el in block.get("elements", []):
                if el.get("action_id") == action_id:
                    return el
        raise KeyError(f"no {action_id} on message {channel}/{ts}")

    def click(self, *, channel: str, ts: str, action_id: str, user_id: str, option: str = "") -> dict:
        """The block_actions payload Slack sends when ``user_id`` clicks ``action_id`` on a message."""
        el = self.element(channel, ts, action_id)
        action = {
            "action_id": action_id,
            "block_id": "b",
            "type": el["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if el["type"] == "static_select":
            chosen = next(o for o in el["options"] if o["value"].endswith(f":{option}"))
            action["selected_option"] = chosen
        else:
            action["value"] = el.get("value", "")
            action["text"] = el["text"]
        return {
            "type": "block_actions",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0FAKE"},
            "api_app_id": "A0FAKE",
            "token": "deprecated-verification-token",
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "trigger_id": f"{int(time.time())}.trigger",
            "team": {"id": "T0FAKE", "domain": "example"},
            "channel": {"id": channel, "name": "directmessage"},
            "message": self.messages[(channel, ts)],
            "response_url": self.server.url_for("/actions/T0FAKE/1/xyz"),
            "actions": [action],
        }

    def submit(self, *, view: dict, user_id: str, reason: str, note: str = "") -> dict:
        """The view_submission payload for the disqualify modal ``view`` (as views.open got it)."""
        return {
            "type": "view_submission",
            "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0FAKE"},
            "team": {"id": "T0FAKE", "domain": "example"},
            "api_app_id": "A0FAKE",
            "view": {
                **view,
                "id": "V0SUBMIT",
                "state": {
                    "values": {
                        "reason": {
                            "reason_code": {"type": "static_select", "selected_option": {"value": reason}}
                        },
                        "note": {"note_text": {"type": "plain_text_input", "value": note or None}},
                    }
                },
            },
        }


def signed(
    payload: dict, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict]:
    """The body and headers Slack sends for an interaction payload."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"HTTP_X_SLACK_REQUEST_TIMESTAMP": ts, "HTTP_X_SLACK_SIGNATURE": f"v0={digest}"}
