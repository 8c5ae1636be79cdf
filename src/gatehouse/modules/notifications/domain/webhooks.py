"""Signed webhooks as the Standard Webhooks specification has them (standardwebhooks.com).

A message goes to one endpoint: ``webhook-id`` names it (the same on every retry, so a
receiver drops a repeat), ``webhook-timestamp`` is the attempt's time in Unix seconds, and
``webhook-signature`` holds ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` once per
secret of the endpoint, separated by spaces: while a secret is rotated, the endpoint has the old
and the new one and a receiver holding either verifies. Secrets are written ``whsec_<base64>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from gatehouse.modules.notifications.domain.model import RetryPolicy

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
MIN_SECRET_BYTES = 24  # the specification's bounds
MAX_SECRET_BYTES = 64
JsonValue = str | int | bool | None
# A receiver may be down for most of a day: 20 attempts, the waits doubling from 5 s up to 4 h,
# dead after about 17 hours on average (34 at the most).
WEBHOOK_RETRIES = RetryPolicy(max_attempts=20, cap=timedelta(hours=4))


class InvalidWebhookSecret(ValueError):
    """Not ``whsec_`` and the base64 of 24 to 64 random bytes."""


@dataclass(frozen=True, slots=True)
class WebhookSecret:
    key: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str) -> WebhookSecret:
        """``whsec_<base64>``; the message never repeats the secret."""
        if not text.startswith(SECRET_PREFIX):
            msg = f"a webhook secret starts with {SECRET_PREFIX!r}"
            raise InvalidWebhookSecret(msg)
        encoded = text.removeprefix(SECRET_PREFIX)
        encoded += "=" * (-len(encoded) % 4)  # the padding may be left out
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            msg = f"a webhook secret is {SECRET_PREFIX!r} followed by base64"
            raise InvalidWebhookSecret(msg) from None
        if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
            msg = (
                f"a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"
                f" (this one {len(key)})"
            )
            raise InvalidWebhookSecret(msg)
        return cls(key)

    def sign(self, signed_content: bytes) -> str:
        digest = hmac.new(self.key, signed_content, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A receiver: where to POST, the secrets to sign with (more than one while rotating), and
    the event types it wants (``None``: every one)."""

    url: str
    secrets: tuple[WebhookSecret, ...] = field(repr=False)
    events: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.secrets:
            msg = "a webhook endpoint needs at least one secret"
            raise ValueError(msg)

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events


@dataclass(kw_only=True)
class WebhookMessage:
    """One event for one endpoint, as the webhook outbox holds it. ``body`` is the JSON as
    written when the event happened: every attempt sends (and signs) the same bytes."""

    id: uuid.UUID
    url: str
    event_type: str
    body: str
    attempts: int
    created_at: datetime

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.id.hex}"


def webhook_body(event_type: str, occurred_at: datetime, data: Mapping[str, JsonValue]) -> str:
    """The payload: ``{"type", "timestamp" (RFC 3339, UTC), "data"}``."""
    timestamp = occurred_at.astimezone(UTC).isoformat(timespec="milliseconds")
    payload = {"type": event_type, "timestamp": timestamp.replace("+00:00", "Z"), "data": data}
    return json.dumps(payload, separators=(",", ":"))


def signature_headers(
    webhook_id: str, sent_at: datetime, body: str, secrets: tuple[WebhookSecret, ...]
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt at ``sent_at``."""
    timestamp = str(int(sent_at.timestamp()))
    signed_content = f"{webhook_id}.{timestamp}.{body}".encode()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": " ".join(secret.sign(signed_content) for secret in secrets),
    }
