"""Signing as the Standard Webhooks specification says, checked with its reference package
(``standardwebhooks``): we sign with our code and verify with theirs, so a mistake here fails."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from gatehouse.modules.notifications.domain.webhooks import (
    InvalidWebhookSecret,
    WebhookEndpoint,
    WebhookMessage,
    WebhookSecret,
    signature_headers,
    webhook_body,
)
from tests.support.webhooks import new_secret

OLD, NEW = new_secret(), new_secret(48)
BODY = webhook_body(
    "user.created",
    datetime(2026, 12, 8, 9, 30, 5, 120000, tzinfo=UTC),
    {"user_id": "019aa7c2-5a3e-7d41-8c55-0e6d2f1b7a90", "email": "ada@example.com"},
)


def signed(*secrets: str, body: str = BODY, at: datetime | None = None) -> dict[str, str]:
    keys = tuple(WebhookSecret.parse(secret) for secret in secrets)
    return signature_headers("msg_1", at or datetime.now(UTC), body, keys)


def test_a_signature_made_here_verifies_with_the_standardwebhooks_package() -> None:
    headers = signed(OLD)

    assert Webhook(OLD).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-signature"].startswith("v1,")


def test_while_a_secret_rotates_a_receiver_holding_either_one_verifies() -> None:
    headers = signed(OLD, NEW)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(OLD).verify(BODY, headers) == json.loads(BODY)
    assert Webhook(NEW).verify(BODY, headers) == json.loads(BODY)


def test_a_receiver_with_another_secret_refuses_the_message() -> None:
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(new_secret()).verify(BODY, signed(OLD, NEW))


@pytest.mark.parametrize("part", ["webhook-id", "webhook-timestamp", "body"])
def test_a_changed_id_timestamp_or_body_no_longer_verifies(part: str) -> None:
    headers = signed(OLD)
    body = BODY
    if part == "body":
        body = BODY.replace("ada@", "eve@")
    elif part == "webhook-id":
        headers["webhook-id"] = "msg_2"
    else:
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(OLD).verify(body, headers)


def test_the_timestamp_is_the_attempts_time_in_unix_seconds() -> None:
    at = datetime.now(UTC).replace(microsecond=999999)
    assert signed(OLD, at=at)["webhook-timestamp"] == str(int(at.timestamp()))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(OLD).verify(BODY, signed(OLD, at=at - timedelta(minutes=10)))


def test_the_payload_has_the_type_an_rfc_3339_utc_timestamp_and_the_data() -> None:
    assert json.loads(BODY) == {
        "type": "user.created",
        "timestamp": "2026-12-08T09:30:05.120Z",
        "data": {"user_id": "019aa7c2-5a3e-7d41-8c55-0e6d2f1b7a90", "email": "ada@example.com"},
    }


def test_the_webhook_id_is_the_message_id_and_the_same_on_every_attempt() -> None:
    message_id = uuid.uuid4()
    message = WebhookMessage(
        id=message_id,
        url="https://hooks.example.com",
        event_type="user.created",
        body=BODY,
        attempts=3,
        created_at=datetime.now(UTC),
    )
    assert message.webhook_id == f"msg_{message_id.hex}"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (base64.b64encode(b"k" * 32).decode(), "starts with 'whsec_'"),
        ("whsec_not base64!", "followed by base64"),
        ("whsec_" + base64.b64encode(b"k" * 23).decode(), "24 to 64 bytes"),
        ("whsec_" + base64.b64encode(b"k" * 65).decode(), "24 to 64 bytes"),
    ],
)
def test_a_secret_is_whsec_and_the_base64_of_24_to_64_bytes(secret: str, reason: str) -> None:
    with pytest.raises(InvalidWebhookSecret, match=reason) as raised:
        WebhookSecret.parse(secret)
    assert secret not in str(raised.value)


def test_a_secret_may_leave_out_the_base64_padding() -> None:
    padded = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert padded.endswith("=")
    assert WebhookSecret.parse(padded.rstrip("=")) == WebhookSecret.parse(padded)


def test_a_parsed_secret_never_shows_in_a_repr() -> None:
    secret = WebhookSecret.parse(OLD)
    endpoint = WebhookEndpoint("https://hooks.example.com", (secret,))
    assert secret.key.hex() not in repr(endpoint)
    assert OLD.removeprefix("whsec_") not in repr(endpoint) + repr(secret)


def test_an_endpoint_takes_every_type_unless_it_lists_some() -> None:
    secret = (WebhookSecret.parse(OLD),)
    every = WebhookEndpoint("https://a.example.com", secret)
    some = WebhookEndpoint("https://b.example.com", secret, frozenset({"user.deleted"}))
    assert every.wants("session.revoked")
    assert (some.wants("user.deleted"), some.wants("session.revoked")) == (True, False)
    with pytest.raises(ValueError, match="at least one secret"):
        WebhookEndpoint("https://c.example.com", ())
