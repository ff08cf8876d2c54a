"""Webhook signing secrets and headers (Standard Webhooks, https://www.standardwebhooks.com/).

Each delivery carries ``webhook-id`` (stable across retries, for deduplication), ``webhook-timestamp``
(the attempt's Unix time) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``
for each active secret, space-separated (current first, then the previous one during a rotation).
The deprecated ``X-EQL-Signature`` (``sha256=<hex HMAC-SHA256 of the body>``, current secret only) is
still sent for one release.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32  # what a generated secret holds
SECRET_MIN_BYTES = 24  # the Standard Webhooks recommendation
SECRET_MAX_BYTES = 64
LEGACY_SIGNATURE_HEADER = "X-EQL-Signature"  # deprecated: removed in the next release


class InvalidSecret(ValueError):
    """A signing secret that is not ``whsec_`` followed by base64."""


def secret_generate() -> str:
    """A new random secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_<base64>`` secret stands for; InvalidSecret when it is not one."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret(f"A signing secret starts with {SECRET_PREFIX} followed by base64.")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSecret(f"The part after {SECRET_PREFIX} is not valid base64.") from exc
    if not key:
        raise InvalidSecret(f"The part after {SECRET_PREFIX} is empty.")
    return key


def secret_strength_problem(secret: str) -> str | None:
    """Why a newly entered secret is not acceptable (malformed, or outside 24-64 bytes), or None."""
    try:
        key = secret_key(secret)
    except InvalidSecret as exc:
        return str(exc)
    if not SECRET_MIN_BYTES <= len(key) <= SECRET_MAX_BYTES:
        return (
            f"The secret holds {len(key)} bytes; use {SECRET_MIN_BYTES} to {SECRET_MAX_BYTES} "
            "(leave the field empty to generate one)."
        )
    return None


def signature_headers(
    *, message_id: str, timestamp: dt.datetime, body: bytes, secrets: list[str]
) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt, plus the deprecated X-EQL-Signature.

    ``secrets``: the active secrets, current first; each one adds a ``v1,<signature>`` to
    ``webhook-signature``. ``timestamp`` must be timezone-aware.
    """
    if not secrets:
        raise InvalidSecret("An endpoint needs a signing secret.")
    keys = [secret_key(s) for s in secrets]  # InvalidSecret on a malformed one
    when = timestamp.astimezone(dt.UTC)
    data = body.decode()
    signatures = [Webhook(s).sign(message_id, when, data) for s in secrets]
    legacy = hmac.new(keys[0], body, hashlib.sha256).hexdigest()
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": " ".join(signatures),
        LEGACY_SIGNATURE_HEADER: "sha256=" + legacy,
    }
