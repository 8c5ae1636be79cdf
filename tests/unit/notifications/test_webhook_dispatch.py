"""The webhook dispatcher through the notifications container, with an in-memory queue, a
recording sender and a clock the test moves. Signatures are checked with ``standardwebhooks``."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from dependency_injector import providers
from standardwebhooks import Webhook, WebhookVerificationError

from gatehouse.modules.notifications.application.webhooks import (
    NOT_CONFIGURED,
    DispatchWebhooksHandler,
)
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import BASE_BACKOFF, MAIL_RETRIES, MAX_BACKOFF
from gatehouse.modules.notifications.domain.webhooks import (
    WEBHOOK_RETRIES,
    WebhookEndpoint,
    WebhookSecret,
    webhook_body,
)
from tests.support.clock import FixedClock
from tests.support.containers import notifications_container
from tests.support.fakes.notifications import (
    InMemoryOutboxStore,
    InMemoryWebhookQueue,
    RecordingTransport,
    RecordingWebhookSender,
)
from tests.support.webhooks import new_secret

URL = "https://hooks.example.com/gatehouse"


def dispatcher(
    queue: InMemoryWebhookQueue,
    sender: RecordingWebhookSender,
    clock: FixedClock,
    *endpoints: WebhookEndpoint,
) -> DispatchWebhooksHandler:
    container = notifications_container(
        clock=clock, store=InMemoryOutboxStore(), transport=RecordingTransport()
    )
    container.webhook_endpoints.override(providers.Object(endpoints))
    container.webhook_queue.override(providers.Object(queue))
    container.webhook_sender.override(providers.Object(sender))
    handler: DispatchWebhooksHandler = container.dispatch_webhooks()
    return handler


def endpoint(*secrets: str, url: str = URL) -> WebhookEndpoint:
    return WebhookEndpoint(url, tuple(WebhookSecret.parse(secret) for secret in secrets))


def body(clock: FixedClock) -> str:
    return webhook_body("user.deleted", clock.now(), {"user_id": "u-1"})


async def test_a_due_webhook_is_posted_signed_to_its_endpoint_and_done() -> None:
    queue, sender, clock, secret = (
        InMemoryWebhookQueue(),
        RecordingWebhookSender(),
        FixedClock(),
        new_secret(),
    )
    row = queue.add(URL, "user.deleted", body(clock), clock.now())

    result = await dispatcher(queue, sender, clock, endpoint(secret))()

    assert (result.sent, row.status, row.message.attempts) == (1, "sent", 1)
    [(url, headers, sent)] = sender.posted
    assert url == URL
    assert headers["webhook-id"] == row.message.webhook_id
    assert headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert sent == row.message.body.encode()
    assert Webhook(secret).verify(sent, headers)["type"] == "user.deleted"
    assert (await dispatcher(queue, sender, clock, endpoint(secret))()).handled == 0


async def test_a_failed_post_is_retried_with_backoff_with_the_same_id_and_body() -> None:
    queue, sender, clock = InMemoryWebhookQueue(), RecordingWebhookSender(), FixedClock()
    row = queue.add(URL, "user.deleted", body(clock), clock.now())
    handler = dispatcher(queue, sender, clock, endpoint(new_secret()))
    sender.fail_with = DeliveryFailed("HTTP 503", permanent=False)

    assert (await handler()).failed == 1
    assert (row.status, row.message.attempts, row.error) == ("pending", 1, "HTTP 503")
    assert row.due >= clock.now() + BASE_BACKOFF
    assert (await handler()).handled == 0  # not due yet

    sender.fail_with = None
    clock.advance(MAX_BACKOFF)
    assert (await handler()).sent == 1
    [(_, headers, sent)] = sender.posted
    assert (headers["webhook-id"], sent) == (row.message.webhook_id, row.message.body.encode())


async def test_the_last_allowed_attempt_goes_to_dead_letter() -> None:
    queue, sender, clock = InMemoryWebhookQueue(), RecordingWebhookSender(), FixedClock()
    last = WEBHOOK_RETRIES.max_attempts
    row = queue.add(URL, "user.deleted", body(clock), clock.now(), attempts=last - 1)
    sender.fail_with = DeliveryFailed("HTTP 500", permanent=False)

    assert (await dispatcher(queue, sender, clock, endpoint(new_secret()))()).dead == 1
    assert (row.status, row.message.attempts, row.error) == ("dead", last, "HTTP 500")
    assert row.message.body  # kept: an operator may send it again


async def test_a_webhook_for_an_endpoint_no_longer_configured_is_dead_without_a_post() -> None:
    queue, sender, clock = InMemoryWebhookQueue(), RecordingWebhookSender(), FixedClock()
    gone = queue.add("https://old.example.com/hook", "user.deleted", body(clock), clock.now())
    kept = queue.add(URL, "user.deleted", body(clock), clock.now())

    result = await dispatcher(queue, sender, clock, endpoint(new_secret()))()

    assert (result.sent, result.dead) == (1, 1)
    assert (gone.status, gone.error, kept.status) == ("dead", NOT_CONFIGURED, "sent")
    assert [url for url, _, _ in sender.posted] == [URL]


async def test_a_secret_rotated_while_a_webhook_waits_signs_its_next_attempt() -> None:
    queue, sender, clock = InMemoryWebhookQueue(), RecordingWebhookSender(), FixedClock()
    old, new = new_secret(), new_secret()
    row = queue.add(URL, "user.deleted", body(clock), clock.now())
    sender.fail_with = DeliveryFailed("refused", permanent=False)
    await dispatcher(queue, sender, clock, endpoint(old))()

    sender.fail_with = None
    clock.advance(row.due - clock.now())  # seconds: the receiver checks the timestamp
    assert (await dispatcher(queue, sender, clock, endpoint(new))()).sent == 1

    [(_, headers, sent)] = sender.posted
    assert Webhook(new).verify(sent, headers)["type"] == "user.deleted"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(sent, headers)


def test_webhooks_are_retried_for_most_of_a_day_and_longer_than_mail() -> None:
    rng = random.Random(15)
    waits = [WEBHOOK_RETRIES.delay(n, rng) for n in range(1, WEBHOOK_RETRIES.max_attempts)]
    assert all(BASE_BACKOFF <= wait <= timedelta(hours=4) for wait in waits)
    assert timedelta(hours=8) < sum(waits, timedelta()) <= timedelta(hours=34)
    assert WEBHOOK_RETRIES.max_attempts > MAIL_RETRIES.max_attempts


def test_publishers_are_told_which_types_some_endpoint_wants() -> None:
    container = notifications_container(
        clock=FixedClock(), store=InMemoryOutboxStore(), transport=RecordingTransport()
    )
    secret = endpoint(new_secret()).secrets
    container.webhook_endpoints.override(
        providers.Object(
            (
                WebhookEndpoint("https://a.example.com", secret, frozenset({"user.deleted"})),
                WebhookEndpoint("https://b.example.com", secret, frozenset({"user.created"})),
            )
        )
    )
    subscribers = container.webhook_subscribers()
    assert subscribers.wants("user.deleted")
    assert subscribers.wants("user.created")
    assert not subscribers.wants("session.revoked")


def test_with_no_endpoint_nothing_is_wanted_and_only_the_mail_outbox_is_dispatched() -> None:
    container = notifications_container(
        clock=FixedClock(), store=InMemoryOutboxStore(), transport=RecordingTransport()
    )
    assert not container.webhook_subscribers().wants("user.created")
    assert [outbox.name for outbox in container.outboxes()] == ["mail"]
    container.webhook_endpoints.override(providers.Object((endpoint(new_secret()),)))
    assert [outbox.name for outbox in container.outboxes()] == ["mail", "webhook"]
