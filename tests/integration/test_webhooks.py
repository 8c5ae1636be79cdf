"""Signed webhooks from the transactional outbox: real PostgreSQL, real HTTP receivers
(tests/support/webhooks.py), signatures checked with the ``standardwebhooks`` package.

A security event recorded in an accounts unit of work (with the handlers main registers) is
written to ``notifications_webhook_outbox`` in its transaction; the dispatcher, driven here by
hand on a FixedClock, delivers it. These tests need real commits, so they empty the webhook
outbox first (each xdist worker has a database of its own). Retries become due by moving the
clock, never by sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.adapters.orm import webhook_outbox_table
from gatehouse.modules.notifications.adapters.webhook_http import HttpxWebhookSender
from gatehouse.modules.notifications.adapters.webhook_outbox import SqlAlchemyWebhookQueue
from gatehouse.modules.notifications.application.outbox import OutboxDispatcher
from gatehouse.modules.notifications.application.webhooks import DispatchWebhooksHandler
from gatehouse.modules.notifications.domain.webhooks import WEBHOOK_RETRIES, WebhookEndpoint
from tests.support.builders import a_user
from tests.support.clock import FixedClock
from tests.support.uow import accounts_uow
from tests.support.webhooks import (
    Delivery,
    WebhookReceiver,
    new_secret,
    receiver_fixture,  # noqa: F401 - the receiver fixture
)

pytestmark = pytest.mark.usefixtures("empty_webhook_outbox")


@pytest_asyncio.fixture(loop_scope="session")
async def empty_webhook_outbox(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {webhook_outbox_table.name}"))
    yield


@dataclass
class Hooks:
    """What every test here uses: the database, a clock, the HTTP sender and a receiver."""

    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    clock: FixedClock
    sender: HttpxWebhookSender
    receiver: WebhookReceiver

    def dispatcher(
        self, *endpoints: WebhookEndpoint, sender: HttpxWebhookSender | None = None
    ) -> DispatchWebhooksHandler:
        return DispatchWebhooksHandler(
            queue=SqlAlchemyWebhookQueue(self.engine, listen_dsn=None),
            sender=sender or self.sender,
            endpoints=endpoints,
            clock=self.clock,
        )

    async def register(self, *endpoints: WebhookEndpoint, commit: bool = True) -> uuid.UUID:
        """An account created with its ``account.registered`` event, as registration does."""
        uow = accounts_uow(self.session_factory, self.clock, webhooks=endpoints)
        user = a_user(now=self.clock.now())
        async with uow() as tx:
            await tx.users.add(user)
            tx.record(
                SecurityEvent(
                    type="account.registered", user_id=user.id, details={"method": "password"}
                )
            )
            if commit:
                await tx.commit()
        return user.id

    async def rows(self) -> list[Any]:
        t = webhook_outbox_table
        async with self.engine.connect() as conn:
            return list((await conn.execute(select(t).order_by(t.c.created_at, t.c.id))).all())

    async def advance_to_due(self) -> None:
        """Move the clock to the latest retry time of the pending rows."""
        pending = [row.next_attempt_at for row in await self.rows() if row.status == "pending"]
        self.clock.advance(max(pending) - self.clock.now())


@pytest_asyncio.fixture(loop_scope="session")
async def hooks(
    engine: AsyncEngine,
    session_factory: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
) -> AsyncIterator[Hooks]:
    sender = HttpxWebhookSender(timeout=2.0)
    # The clock starts now: receivers check the timestamp against the real time.
    yield Hooks(engine, session_factory, FixedClock(), sender, receiver)
    await sender.aclose()


def ids(deliveries: list[Delivery]) -> Counter[str]:
    return Counter(delivery.webhook_id for delivery in deliveries)


async def test_an_event_committed_with_its_change_is_delivered_signed_to_who_wants_it(
    hooks: Hooks,
) -> None:
    receiver = hooks.receiver
    other = WebhookReceiver()  # takes only deletions: never started, never called
    endpoints = (receiver.endpoint(), other.endpoint(events=frozenset({"user.deleted"})))
    user_id = await hooks.register(*endpoints)
    [row] = await hooks.rows()
    assert (row.status, row.endpoint_url, row.event_type) == (
        "pending",
        receiver.url,
        "user.created",
    )

    result = await hooks.dispatcher(*endpoints)()

    assert result.sent == 1
    [delivery] = receiver.received
    payload = delivery.verify(receiver.secret)
    assert payload["type"] == "user.created"
    assert payload["data"]["user_id"] == str(user_id)
    assert payload["data"]["email"].endswith("@example.com")
    assert payload["data"]["method"] == "password"
    assert delivery.webhook_id == f"msg_{row.id.hex}"
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.path == "/hooks/gatehouse"
    [done] = await hooks.rows()
    assert (done.status, done.attempts, done.last_error) == ("sent", 1, None)


async def test_an_event_rolled_back_with_its_change_is_never_stored_or_delivered(
    hooks: Hooks,
) -> None:
    receiver = hooks.receiver
    await hooks.register(receiver.endpoint(), commit=False)

    assert await hooks.rows() == []
    assert (await hooks.dispatcher(receiver.endpoint())()).handled == 0
    assert receiver.attempts == []


async def test_a_receiver_that_is_down_and_comes_back_gets_every_event_exactly_once(
    hooks: Hooks,
) -> None:
    receiver, clock = hooks.receiver, hooks.clock
    endpoint = receiver.endpoint()
    dispatch = hooks.dispatcher(endpoint)
    users = [await hooks.register(endpoint) for _ in range(3)]
    receiver.stop()  # connections refused

    assert (await dispatch()).failed == 3
    assert (await dispatch()).handled == 0  # not due again yet
    assert {(row.status, row.attempts) for row in await hooks.rows()} == {("pending", 1)}

    receiver.start()
    receiver.status = 503  # up, but not ready: it sees them and refuses them
    await hooks.advance_to_due()
    assert (await dispatch()).failed == 3
    receiver.status = 204
    await hooks.advance_to_due()
    assert (await dispatch()).sent == 3
    clock.advance(timedelta(days=1))
    assert (await dispatch()).handled == 0

    stored = await hooks.rows()
    assert {(row.status, row.attempts) for row in stored} == {("sent", 3)}
    assert ids(receiver.received) == Counter({f"msg_{row.id.hex}": 1 for row in stored})
    assert ids(receiver.attempts) == Counter({f"msg_{row.id.hex}": 2 for row in stored})
    payloads = [delivery.verify(receiver.secret) for delivery in receiver.received]
    assert sorted(p["data"]["user_id"] for p in payloads) == sorted(map(str, users))
    # every attempt of one message sent the same bytes under the same id
    for webhook_id in ids(receiver.attempts):
        bodies = {d.body for d in receiver.attempts if d.webhook_id == webhook_id}
        assert len(bodies) == 1


async def test_after_the_last_attempt_a_webhook_is_dead_lettered_and_never_sent_again(
    hooks: Hooks,
) -> None:
    receiver, clock = hooks.receiver, hooks.clock
    last = WEBHOOK_RETRIES.max_attempts
    endpoint = receiver.endpoint()
    dispatch = hooks.dispatcher(endpoint)
    await hooks.register(endpoint)
    receiver.status = 500

    for _ in range(last - 1):
        assert (await dispatch()).failed == 1
        await hooks.advance_to_due()
    assert (await dispatch()).dead == 1
    clock.advance(timedelta(days=30))
    assert (await dispatch()).handled == 0

    [row] = await hooks.rows()
    assert (row.status, row.attempts, row.last_error) == ("dead", last, "HTTP 500")
    assert row.payload  # kept for an operator to look at, or send again
    assert len(receiver.attempts) == last
    assert set(ids(receiver.attempts)) == {f"msg_{row.id.hex}"}


async def test_two_dispatchers_at_once_never_deliver_one_webhook_twice(hooks: Hooks) -> None:
    receiver = hooks.receiver
    endpoint = receiver.endpoint()
    count = OutboxDispatcher.BATCH + 5  # more than a batch: each claims one of its own
    for _ in range(count):
        await hooks.register(endpoint)
    receiver.delay = 0.02  # each answer takes a while: the dispatchers overlap
    first = hooks.dispatcher(endpoint)
    second = hooks.dispatcher(endpoint)

    one, two = await asyncio.gather(first(), second())

    assert one.sent + two.sent == count
    assert one.sent > 0
    assert two.sent > 0
    assert len(receiver.attempts) == count
    assert set(ids(receiver.received).values()) == {1}
    assert {row.status for row in await hooks.rows()} == {"sent"}


async def test_while_a_secret_rotates_receivers_holding_only_the_old_or_the_new_one_verify(
    hooks: Hooks,
) -> None:
    receiver = hooks.receiver
    old, new = receiver.secret, new_secret()
    endpoint = receiver.endpoint(old, new)
    await hooks.register(endpoint)

    assert (await hooks.dispatcher(endpoint)()).sent == 1

    [delivery] = receiver.received
    assert delivery.verify(old) == delivery.verify(new)
    assert len(delivery.headers["webhook-signature"].split(" ")) == 2


async def test_a_redirect_is_not_followed_but_retried_as_a_failure(hooks: Hooks) -> None:
    receiver = hooks.receiver
    endpoint = receiver.endpoint()
    await hooks.register(endpoint)
    receiver.status = 307

    assert (await hooks.dispatcher(endpoint)()).failed == 1

    assert [d.path for d in receiver.attempts] == ["/hooks/gatehouse"]  # not /else
    [row] = await hooks.rows()
    assert (row.status, row.last_error) == ("pending", "HTTP 307")


async def test_a_receiver_that_does_not_answer_in_time_is_retried_later(hooks: Hooks) -> None:
    receiver = hooks.receiver
    endpoint = receiver.endpoint()
    await hooks.register(endpoint)
    impatient = HttpxWebhookSender(timeout=0.2)
    receiver.hold()
    try:
        assert (await hooks.dispatcher(endpoint, sender=impatient)()).failed == 1
    finally:
        receiver.release()
        await impatient.aclose()

    [row] = await hooks.rows()
    assert (row.status, row.last_error) == ("pending", "timed out")
