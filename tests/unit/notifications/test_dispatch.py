from __future__ import annotations

import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from gatehouse.modules.notifications.adapters.mail_templates import JinjaMailRenderer
from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.ports import (
    MailTransport,
    OutboxClaim,
    OutboxStore,
)
from gatehouse.modules.notifications.application.public import MailResolver, OutgoingMail
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import (
    BASE_BACKOFF,
    MAX_ATTEMPTS,
    MAX_BACKOFF,
    OutboxMessage,
    RenderedMail,
    next_attempt_delay,
)
from gatehouse.shared.errors import Unavailable
from tests.unit.fakes import FixedClock


class _Row:
    def __init__(self, message: OutboxMessage, due: datetime) -> None:
        self.message = message
        self.due = due
        self.status = "pending"
        self.error: str | None = None


class InMemoryOutboxStore(OutboxStore):
    def __init__(self) -> None:
        self.rows: list[_Row] = []

    def add(self, template: str, params: dict[str, str], due: datetime, attempts: int = 0) -> _Row:
        row = _Row(
            OutboxMessage(
                id=uuid.uuid4(),
                to="ada@example.com",
                template=template,
                params=params,
                locale="en",
                attempts=attempts,
                created_at=due,
            ),
            due,
        )
        self.rows.append(row)
        return row

    @contextlib.asynccontextmanager
    async def claim_next(self, now: datetime) -> AsyncIterator[OutboxClaim | None]:
        due = [r for r in self.rows if r.status == "pending" and r.due <= now]
        if not due:
            yield None
            return
        row = min(due, key=lambda r: r.due)

        class Claim(OutboxClaim):
            message = row.message

            async def mark_sent(self, now: datetime) -> None:
                row.status = "sent"

            async def mark_failed(self, error: str, retry_at: datetime) -> None:
                row.message.attempts += 1
                row.due = retry_at
                row.error = error

            async def mark_dead(self, error: str, now: datetime) -> None:
                row.status = "dead"
                row.error = error

        yield Claim()

    async def backlog(self) -> int:
        return sum(r.status == "pending" for r in self.rows)

    async def wait_for_mail(self, wait_seconds: float) -> None:
        return None


class RecordingTransport(MailTransport):
    def __init__(self) -> None:
        self.sent: list[RenderedMail] = []
        self.fail_with: DeliveryFailed | None = None

    async def send(self, mail: RenderedMail) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(mail)


@pytest.fixture
def parts() -> tuple[InMemoryOutboxStore, RecordingTransport, FixedClock]:
    return InMemoryOutboxStore(), RecordingTransport(), FixedClock()


def _handler(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> DispatchOutboxHandler:
    store, transport, clock = parts
    return DispatchOutboxHandler(
        store=store,
        transport=transport,
        renderer=JinjaMailRenderer(),
        clock=clock,
        mail_domain="example.com",
    )


PARAMS = {"link": "https://x/verify-email?token=t", "hours": "24"}


async def test_due_mail_is_rendered_and_sent_once(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now())

    assert (await _handler(parts)()).sent == 1
    assert (await _handler(parts)()).handled == 0

    [mail] = transport.sent
    assert mail.subject == "Confirm your email address"
    assert "https://x/verify-email?token=t" in mail.text
    assert mail.message_id == f"<{row.message.id}@example.com>"
    assert row.status == "sent"


async def test_mail_not_yet_due_waits(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, _, clock = parts
    store.add("verify_email", PARAMS, clock.now() + timedelta(seconds=5))
    assert (await _handler(parts)()).handled == 0
    clock.advance(timedelta(seconds=5))
    assert (await _handler(parts)()).sent == 1


async def test_a_transient_failure_is_retried_later_with_backoff(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now())
    transport.fail_with = DeliveryFailed("connection refused", permanent=False)

    assert (await _handler(parts)()).failed == 1
    assert row.status == "pending"
    assert row.message.attempts == 1
    assert row.due >= clock.now() + BASE_BACKOFF

    transport.fail_with = None
    clock.advance(MAX_BACKOFF)
    assert (await _handler(parts)()).sent == 1
    assert len(transport.sent) == 1


async def test_a_permanent_failure_goes_to_dead_letter(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now())
    transport.fail_with = DeliveryFailed("550 no such user", permanent=True)
    assert (await _handler(parts)()).dead == 1
    assert row.status == "dead"
    assert row.error == "550 no such user"


async def test_the_last_allowed_attempt_goes_to_dead_letter(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, transport, clock = parts
    row = store.add("verify_email", PARAMS, clock.now(), attempts=MAX_ATTEMPTS - 1)
    transport.fail_with = DeliveryFailed("timeout", permanent=False)
    assert (await _handler(parts)()).dead == 1
    assert row.status == "dead"


@pytest.mark.parametrize(
    ("template", "params"),
    [("no_such_template", {}), ("verify_email", {"link": "only the link"})],
)
async def test_unrenderable_mail_goes_to_dead_letter_without_sending(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
    template: str,
    params: dict[str, str],
) -> None:
    store, transport, clock = parts
    row = store.add(template, params, clock.now())
    assert (await _handler(parts)()).dead == 1
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


def _resolving(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock], resolver: MailResolver
) -> DispatchOutboxHandler:
    store, transport, clock = parts
    return DispatchOutboxHandler(
        store=store,
        transport=transport,
        renderer=JinjaMailRenderer(),
        clock=clock,
        mail_domain="example.com",
        resolvers={"request": resolver},
    )


async def test_a_request_is_resolved_into_its_mail_or_into_nothing(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, transport, clock = parts
    known = store.add("request", {}, clock.now())
    unknown = store.add("request", {}, clock.now())
    unknown.message.to = "nobody@example.com"
    result = await _resolving(parts, ScriptedResolver())()
    assert (result.sent, known.status, unknown.status) == (1, "sent", "sent")
    assert [mail.to for mail in transport.sent] == ["ada@example.com"]


async def test_a_resolver_that_fails_never_blocks_the_mail_behind_it(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, transport, clock = parts
    broken = store.add("request", {}, clock.now())
    behind = store.add("verify_email", PARAMS, clock.now())
    result = await _resolving(parts, ScriptedResolver(ValueError("bad row")))()
    assert (broken.status, behind.status) == ("dead", "sent")
    assert result.dead == 1
    assert len(transport.sent) == 1


async def test_a_resolver_whose_database_is_down_is_retried_later(
    parts: tuple[InMemoryOutboxStore, RecordingTransport, FixedClock],
) -> None:
    store, _, clock = parts
    row = store.add("request", {}, clock.now())
    result = await _resolving(parts, ScriptedResolver(DatabaseDown()))()
    assert (result.failed, row.status) == (1, "pending")
    assert row.due > clock.now()


class DatabaseDown(Unavailable):
    code = "database_unavailable"
