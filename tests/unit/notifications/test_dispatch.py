from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest

from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.outbox import OutboxDispatcher
from gatehouse.modules.notifications.application.public import MailResolver, OutgoingMail
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import (
    BASE_BACKOFF,
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    RenderedMail,
    next_attempt_delay,
)
from gatehouse.shared.errors import Unavailable
from tests.support.containers import notifications_container
from tests.support.fakes.notifications import RecordingTransport
from tests.unit.notifications.dispatching import Parts, handler

PARAMS = {"link": "https://x/verify-email?token=t", "hours": "24"}


async def test_due_mail_is_rendered_and_sent_once(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now())

    assert (await handler(parts)()).sent == 1
    assert (await handler(parts)()).handled == 0

    [mail] = transport.sent
    assert mail.subject == "Confirm your email address"
    assert "https://x/verify-email?token=t" in mail.text
    assert mail.message_id == f"<{row.message.id}@example.com>"
    assert row.status == "sent"


async def test_mail_not_yet_due_waits(
    parts: Parts,
) -> None:
    store, _, clock = parts
    store.add("verify_email", PARAMS, clock.now() + timedelta(seconds=5))
    assert (await handler(parts)()).handled == 0
    clock.advance(timedelta(seconds=5))
    assert (await handler(parts)()).sent == 1


async def test_a_transient_failure_is_retried_later_with_backoff(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now())
    transport.fail_with = DeliveryFailed("connection refused", permanent=False)

    assert (await handler(parts)()).failed == 1
    assert row.status == "pending"
    assert row.message.attempts == 1
    assert row.due >= clock.now() + BASE_BACKOFF

    transport.fail_with = None
    clock.advance(MAX_BACKOFF)
    assert (await handler(parts)()).sent == 1
    assert len(transport.sent) == 1


async def test_a_permanent_failure_goes_to_dead_letter(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now())
    transport.fail_with = DeliveryFailed("550 no such user", permanent=True)
    assert (await handler(parts)()).dead == 1
    assert row.status == "dead"
    assert row.error == "550 no such user"


async def test_the_last_allowed_attempt_goes_to_dead_letter(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now(), attempts=MAX_ATTEMPTS - 1)
    transport.fail_with = DeliveryFailed("timeout", permanent=False)
    assert (await handler(parts)()).dead == 1
    assert row.status == "dead"


@pytest.mark.parametrize(
    ("template", "params"),
    [("no_such_template", {}), ("verify_email", {"link": "only the link"})],
)
async def test_unrenderable_mail_goes_to_dead_letter_without_sending(
    parts: Parts,
    template: str,
    params: dict[str, str],
) -> None:
    store, transport, clock = parts
    row = store.add(template, params, clock.now())
    assert (await handler(parts)()).dead == 1
    assert row.status == "dead"
    assert transport.sent == []


def test_backoff_grows_exponentially_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [next_attempt_delay(n, rng) for n in range(1, 30)]
    assert all(BASE_BACKOFF <= d <= MAX_BACKOFF for d in delays)
    assert next_attempt_delay(1, rng) == BASE_BACKOFF
    ceilings = [BASE_BACKOFF * (1 << (n - 1)) for n in range(1, 6)]
    for n, ceiling in enumerate(ceilings, start=1):
        assert next_attempt_delay(n, random.Random(0)) <= ceiling
    assert len({next_attempt_delay(8, random.Random(seed)) for seed in range(5)}) == 5


class ScriptedResolver(MailResolver):
    """Resolves a request into a verification mail, or fails as told."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    async def resolve(self, request: OutgoingMail) -> OutgoingMail | None:
        if self.error is not None:
            raise self.error
        if request.to.startswith("nobody"):
            return None
        return OutgoingMail(request.to, "verify_email", PARAMS, request.locale)


def _resolving(parts: Parts, resolver: MailResolver) -> DispatchOutboxHandler:
    store, transport, clock = parts
    handler: DispatchOutboxHandler = notifications_container(
        clock=clock, store=store, transport=transport, resolvers={"request": resolver}
    ).dispatch()
    return handler


async def test_a_request_is_resolved_into_its_mail_or_into_nothing(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    known = store.add("request", {}, clock.now())
    unknown = store.add("request", {}, clock.now())
    unknown.message.to = "nobody@example.com"
    result = await _resolving(parts, ScriptedResolver())()
    assert (result.sent, known.status, unknown.status) == (1, "sent", "sent")
    assert [mail.to for mail in transport.sent] == ["ada@example.com"]


async def test_a_resolver_that_fails_never_blocks_the_mail_behind_it(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    broken = store.add("request", {}, clock.now())
    behind = store.add("verify_email", PARAMS, clock.now())
    result = await _resolving(parts, ScriptedResolver(ValueError("bad row")))()
    assert (broken.status, behind.status) == ("dead", "sent")
    assert result.dead == 1
    assert len(transport.sent) == 1


async def test_a_resolver_whose_database_is_down_is_retried_later(
    parts: Parts,
) -> None:
    store, _, clock = parts
    row = store.add("request", {}, clock.now())
    result = await _resolving(parts, ScriptedResolver(DatabaseDown()))()
    assert (result.failed, row.status) == (1, "pending")
    assert row.due > clock.now()


class DatabaseDown(Unavailable):
    code = "database_unavailable"


async def test_a_dispatcher_sends_as_many_at_once_as_its_concurrency_each_mail_once(
    parts: Parts,
) -> None:
    store, transport, clock = parts
    rows = [
        store.add("verify_email", PARAMS, clock.now(), to=f"u{i}@example.com") for i in range(10)
    ]
    transport.hold_until = 4  # no send finishes before four are in flight
    handler = notifications_container(
        clock=clock, store=store, transport=transport, concurrency=4
    ).dispatch()

    async with asyncio.timeout(10):
        result = await handler()

    assert result.sent == 10
    assert transport.most_in_flight == 4
    assert sorted(mail.message_id for mail in transport.sent) == sorted(
        f"<{row.message.id}@example.com>" for row in rows
    )
    assert all(row.status == "sent" for row in rows)


class BuggyFor(RecordingTransport):
    """Sends every mail but the one to ``to``, where it hits a bug (not a ``DeliveryFailed``)."""

    def __init__(self, to: str) -> None:
        super().__init__()
        self.to = to

    async def send(self, mail: RenderedMail) -> None:
        if mail.to == self.to:
            raise RuntimeError("a bug")
        await super().send(mail)


async def test_a_bug_in_one_delivery_stops_the_dispatch_once_the_batch_is_recorded(
    parts: Parts,
) -> None:
    """The mails of the batch delivered before or beside it are recorded as sent (never sent
    again); the one that hit the bug stays pending, as it was."""
    store, _, clock = parts
    rows = [
        store.add("verify_email", PARAMS, clock.now(), to=f"u{i}@example.com") for i in range(6)
    ]
    transport = BuggyFor("u2@example.com")
    handler = notifications_container(
        clock=clock, store=store, transport=transport, concurrency=2
    ).dispatch()

    with pytest.raises(RuntimeError, match="a bug"):
        await handler()

    assert [(row.status, row.message.attempts) for row in rows] == [
        *[("sent", 1)] * 2,
        ("pending", 0),
        *[("sent", 1)] * 3,
    ]
    assert len(transport.sent) == 5


async def test_a_call_sends_at_most_max_messages_a_batch_at_a_time(parts: Parts) -> None:
    store, transport, clock = parts
    count = 2 * OutboxDispatcher.BATCH + 3
    rows = [store.add("verify_email", PARAMS, clock.now()) for _ in range(count)]

    first = await handler(parts)(max_messages=OutboxDispatcher.BATCH + 1)
    rest = await handler(parts)()

    assert (first.sent, rest.sent) == (OutboxDispatcher.BATCH + 1, count - first.sent)
    assert len(transport.sent) == count
    assert all(row.status == "sent" for row in rows)
