"""One suite for the OutboxStore port (the dispatcher's side of the outbox), run against the fake
and the real adapter.

The port's promise: ``claim_due(now, limit)`` holds up to ``limit`` of the oldest pending
messages due by ``now``, oldest first (none when nothing is due), skipping those another batch
holds, until the batch ends; each claim's mark records the outcome, written when the batch ends
however it ends: sent (its parameters wiped), failed (due again at ``retry_at``) or dead (never
claimed again), each counting an attempt; ``backlog`` counts the pending messages.
``claim_one`` below is a batch of one.

Each side gives the tests a probe: ``add`` stores a pending message due at a time, ``row``
reads back what the store holds of it (the fake's row; the real one's ``notifications_outbox``
row). Not in the contract: ``wait_for_messages`` (the real one waits for PostgreSQL's NOTIFY or
the timeout; the fake returns at once), and where the due times tie (the real order is then
PostgreSQL's).

The real side claims on its own connections, so it needs real commits: it empties the outbox
table before and after each test, as tests/integration/test_outbox.py does (each xdist worker
has a database of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pytest
import pytest_asyncio
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from gatehouse.modules.notifications.adapters.orm import outbox_table
from gatehouse.modules.notifications.adapters.outbox import SqlAlchemyOutboxStore, stored_params
from gatehouse.modules.notifications.application.ports import Claim, OutboxStore
from gatehouse.modules.notifications.domain.model import OutboxMessage, SealedParams
from gatehouse.shared.ids import new_id
from tests.support.builders import T0, unique_email
from tests.support.fakes.notifications import InMemoryOutboxStore
from tests.support.uow import SEALER

# As the outbox's writer leaves them: sealed (tests/integration/test_outbox_sealing.py reads
# rows written before sealing).
PARAMS = SEALER.seal({"link": "https://gatehouse.test/verify?token=t", "hours": "24"})


@dataclass(frozen=True)
class Row:
    """What the store holds of a message."""

    status: str
    attempts: int
    due: datetime
    params: dict[str, str] | SealedParams
    error: str | None
    sent_at: datetime | None


class Side(Protocol):
    @property
    def store(self) -> OutboxStore: ...

    async def add(
        self, due: datetime, *, attempts: int = 0, to: str | None = None
    ) -> OutboxMessage:
        """Store a pending message due at ``due`` (and created then); the message as stored."""
        ...

    async def row(self, message_id: uuid.UUID) -> Row: ...


class InMemorySide:
    def __init__(self) -> None:
        self.store = InMemoryOutboxStore()

    async def add(
        self, due: datetime, *, attempts: int = 0, to: str | None = None
    ) -> OutboxMessage:
        row = self.store.add(
            "verify_email",
            PARAMS,
            due,
            attempts,
            to=to or unique_email("dispatch").value,
            locale="de",
        )
        return OutboxMessage(
            id=row.message.id,
            to=row.message.to,
            template=row.message.template,
            params=row.message.params,
            locale=row.message.locale,
            attempts=row.message.attempts,
            created_at=row.message.created_at,
        )

    async def row(self, message_id: uuid.UUID) -> Row:
        [row] = [r for r in self.store.rows if r.message.id == message_id]
        return Row(
            status=row.status,
            attempts=row.message.attempts,
            due=row.due,
            params=row.message.params,
            error=row.error,
            sent_at=row.sent_at,
        )


class SqlAlchemySide:
    def __init__(self, engine: AsyncEngine) -> None:
        self.store = SqlAlchemyOutboxStore(engine, listen_dsn=None)
        self._engine = engine

    async def add(
        self, due: datetime, *, attempts: int = 0, to: str | None = None
    ) -> OutboxMessage:
        message = OutboxMessage(
            id=new_id(),
            to=to or unique_email("dispatch").value,
            template="verify_email",
            params=PARAMS,
            locale="de",
            attempts=attempts,
            created_at=due,
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(outbox_table).values(
                    id=message.id,
                    recipient=message.to,
                    template=message.template,
                    params=PARAMS.text,
                    locale=message.locale,
                    status="pending",
                    attempts=attempts,
                    next_attempt_at=due,
                    created_at=due,
                )
            )
        return message

    async def row(self, message_id: uuid.UUID) -> Row:
        t = outbox_table
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t).where(t.c.id == message_id))).one()
        return Row(
            status=row.status,
            attempts=row.attempts,
            due=row.next_attempt_at,
            params=stored_params(row.params),
            error=row.last_error,
            sent_at=row.sent_at,
        )


@pytest_asyncio.fixture(loop_scope="session")
async def sqlalchemy_side(engine: AsyncEngine) -> AsyncIterator[SqlAlchemySide]:
    async def empty() -> None:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {outbox_table.name}"))

    await empty()
    side = SqlAlchemySide(engine)
    try:
        yield side
    finally:
        await side.store.close()
        await empty()


@pytest.fixture(params=["in_memory", "sqlalchemy"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    real: SqlAlchemySide = request.getfixturevalue("sqlalchemy_side")
    return real


@contextlib.asynccontextmanager
async def claim_one(
    store: OutboxStore, now: datetime
) -> AsyncIterator[Claim[OutboxMessage] | None]:
    """A batch of one: the oldest due message's claim, or None."""
    async with store.claim_due(now, 1) as claims:
        assert len(claims) <= 1
        yield claims[0] if claims else None


async def claimed_id(side: Side, now: datetime) -> uuid.UUID | None:
    """Claim and let go without an outcome: which message would be sent at ``now``."""
    async with claim_one(side.store, now) as claim:
        return None if claim is None else claim.message.id


async def test_nothing_is_claimed_from_an_empty_outbox(side: Side) -> None:
    async with claim_one(side.store, T0) as claim:
        assert claim is None
    assert await side.store.backlog() == 0


async def test_a_message_is_claimed_once_it_is_due(side: Side) -> None:
    message = await side.add(T0 + timedelta(seconds=5))

    assert await claimed_id(side, T0) is None
    assert await claimed_id(side, T0 + timedelta(seconds=4)) is None
    assert await claimed_id(side, T0 + timedelta(seconds=5)) == message.id


async def test_the_oldest_due_message_is_claimed_with_every_field(side: Side) -> None:
    later = await side.add(T0 + timedelta(seconds=2))
    oldest = await side.add(T0 + timedelta(seconds=1), attempts=3)
    await side.add(T0 + timedelta(seconds=10))  # not due yet
    now = T0 + timedelta(seconds=5)

    async with claim_one(side.store, now) as claim:
        assert claim is not None
        assert claim.message == oldest
        claim.mark_sent(now)

    assert await claimed_id(side, now) == later.id


async def test_a_claim_ended_without_an_outcome_leaves_the_message_pending(side: Side) -> None:
    message = await side.add(T0)

    assert await claimed_id(side, T0) == message.id
    assert await claimed_id(side, T0) == message.id
    assert await side.row(message.id) == Row("pending", 0, T0, PARAMS, None, None)
    assert await side.store.backlog() == 1


async def test_a_sent_message_counts_an_attempt_loses_its_params_and_is_done(
    side: Side,
) -> None:
    message = await side.add(T0, attempts=2)
    sent_at = T0 + timedelta(seconds=1)

    async with claim_one(side.store, T0) as claim:
        assert claim is not None
        claim.mark_sent(sent_at)

    assert await side.row(message.id) == Row("sent", 3, T0, {}, None, sent_at)
    assert await claimed_id(side, T0 + timedelta(days=1)) is None
    assert await side.store.backlog() == 0


async def test_a_failed_message_counts_an_attempt_and_is_due_again_at_retry_at(
    side: Side,
) -> None:
    message = await side.add(T0)
    retry_at = T0 + timedelta(seconds=30)

    async with claim_one(side.store, T0) as claim:
        assert claim is not None
        claim.mark_failed("connection refused", retry_at)

    assert await side.row(message.id) == Row(
        "pending", 1, retry_at, PARAMS, "connection refused", None
    )
    assert await side.store.backlog() == 1
    assert await claimed_id(side, retry_at - timedelta(seconds=1)) is None
    async with claim_one(side.store, retry_at) as claim:
        assert claim is not None
        assert (claim.message.id, claim.message.attempts) == (message.id, 1)
        claim.mark_sent(retry_at)

    assert await side.row(message.id) == Row("sent", 2, retry_at, {}, None, retry_at)


async def test_a_dead_message_counts_an_attempt_loses_its_params_and_is_never_claimed(
    side: Side,
) -> None:
    message = await side.add(T0)
    now = T0 + timedelta(seconds=1)

    async with claim_one(side.store, now) as claim:
        assert claim is not None
        claim.mark_dead("550 no such user", now)

    assert await side.row(message.id) == Row("dead", 1, now, {}, "550 no such user", None)
    assert await claimed_id(side, now + timedelta(days=30)) is None
    assert await side.store.backlog() == 0


async def test_a_claimed_message_is_skipped_by_another_claim_until_it_ends(side: Side) -> None:
    first = await side.add(T0)
    second = await side.add(T0 + timedelta(seconds=1))
    now = T0 + timedelta(seconds=5)

    async with claim_one(side.store, now) as held:
        assert held is not None
        assert held.message.id == first.id
        async with claim_one(side.store, now) as other:
            assert other is not None
            assert other.message.id == second.id
            async with claim_one(side.store, now) as none_left:
                assert none_left is None
            other.mark_sent(now)
    # the first was let go without an outcome: it is claimed again

    assert await claimed_id(side, now) == first.id


async def test_the_backlog_counts_pending_messages_due_or_not(side: Side) -> None:
    sent = await side.add(T0)
    dead = await side.add(T0 + timedelta(seconds=1))
    await side.add(T0 + timedelta(seconds=2))
    await side.add(T0 + timedelta(days=1))  # not due: still waiting
    assert await side.store.backlog() == 4

    for mark in ("sent", "dead"):
        async with claim_one(side.store, T0 + timedelta(seconds=5)) as claim:
            assert claim is not None
            if mark == "sent":
                assert claim.message.id == sent.id
                claim.mark_sent(T0)
            else:
                assert claim.message.id == dead.id
                claim.mark_dead("refused", T0)

    assert await side.store.backlog() == 2


async def test_a_batch_holds_the_oldest_due_messages_in_order_and_another_skips_them(
    side: Side,
) -> None:
    added = [await side.add(T0 + timedelta(seconds=n)) for n in (3, 1, 4, 2, 5)]
    await side.add(T0 + timedelta(days=1))  # not due
    oldest = sorted(added, key=lambda m: m.created_at)
    now = T0 + timedelta(seconds=10)

    async with side.store.claim_due(now, 3) as batch:
        assert [c.message for c in batch] == oldest[:3]
        async with side.store.claim_due(now, 10) as rest:
            assert [c.message for c in rest] == oldest[3:]
            async with side.store.claim_due(now, 10) as none_left:
                assert list(none_left) == []
            for claim in rest:
                claim.mark_sent(now)
        batch[0].mark_failed("421 try later", now + timedelta(minutes=1))
        batch[1].mark_dead("550 no such user", now)
        # batch[2]: no outcome

    rows = [await side.row(m.id) for m in oldest]
    assert [(r.status, r.attempts, r.error) for r in rows] == [
        ("pending", 1, "421 try later"),
        ("dead", 1, "550 no such user"),
        ("pending", 0, None),
        ("sent", 1, None),
        ("sent", 1, None),
    ]
    assert [r.params for r in rows] == [PARAMS, {}, PARAMS, {}, {}]
    assert [r.sent_at for r in rows] == [None, None, None, now, now]
    assert await claimed_id(side, now) == oldest[2].id


async def test_a_batch_that_ends_in_an_error_still_records_its_outcomes(side: Side) -> None:
    """A batch cancelled at shutdown (or stopped by a bug) keeps what it delivered: the marks
    made are written, the messages without one are due again."""
    first = await side.add(T0)
    second = await side.add(T0 + timedelta(seconds=1))
    sent_at = T0 + timedelta(seconds=2)

    async def stopped_mid_batch() -> None:
        async with side.store.claim_due(sent_at, 2) as batch:
            batch[0].mark_sent(sent_at)
            raise RuntimeError("stopped mid-batch")

    with pytest.raises(RuntimeError, match="stopped"):
        await stopped_mid_batch()

    assert await side.row(first.id) == Row("sent", 1, T0, {}, None, sent_at)
    assert await side.row(second.id) == Row("pending", 0, second.created_at, PARAMS, None, None)
    assert await claimed_id(side, sent_at) == second.id


async def test_a_batch_cancelled_mid_send_records_what_it_delivered(side: Side) -> None:
    """The shutdown's case: the grace ran out while a message was in flight."""
    done = await side.add(T0)
    in_flight = await side.add(T0 + timedelta(seconds=1))
    now = T0 + timedelta(seconds=2)
    marked = asyncio.Event()

    async def batch() -> None:
        async with side.store.claim_due(now, 2) as claims:
            claims[0].mark_sent(now)
            marked.set()
            await asyncio.Event().wait()  # the second one's SMTP server never answers

    task = asyncio.create_task(batch())
    await marked.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert await side.row(done.id) == Row("sent", 1, T0, {}, None, now)
    assert (await side.row(in_flight.id)).status == "pending"
    assert await claimed_id(side, now) == in_flight.id
