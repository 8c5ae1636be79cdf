"""The dispatcher's side of an outbox table in PostgreSQL, whichever outbox it is (mail,
webhooks): the tables share the delivery columns (``status``, ``attempts``,
``next_attempt_at``, ``sent_at``, ``last_error``) and the partial index on due rows.

Writers insert in their own transaction and ``NOTIFY`` the table's channel (delivered only on
commit). The dispatcher locks a batch of due rows with ``FOR UPDATE SKIP LOCKED`` (one
statement) and keeps the locks while the messages are delivered, then records their outcomes in
the same transaction (the sent ones in one statement), so concurrent dispatchers never deliver
one message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic

import asyncpg
from sqlalchemy import ARRAY, Row, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gatehouse.modules.notifications.application.ports import Claim, DeliveryQueue, M
from gatehouse.modules.notifications.domain.model import DeliveryStatus

log = logging.getLogger("gatehouse.notifications")


@dataclass(frozen=True)
class OutboxTable(Generic[M]):
    """An outbox table: how to read a row as a message, which channel its writers notify, and
    which columns to reset once a message is done, sent or dead (what must not be kept)."""

    table: Table
    channel: str
    message: Callable[[Row[Any]], M]
    forget: Mapping[str, Any] = field(default_factory=dict)


class _Claim(Claim[M]):
    """A message of a batch; its mark is recorded, and written when the batch ends."""

    def __init__(self, message: M, forget: Mapping[str, Any]) -> None:
        self.message = message
        self._forget = forget
        self.sent_at: datetime | None = None
        self.values: dict[str, Any] | None = None  # a failure's or a dead letter's columns

    def mark_sent(self, now: datetime) -> None:
        self.sent_at, self.values = now, None

    def mark_failed(self, error: str, retry_at: datetime) -> None:
        self.sent_at = None
        self.values = {
            "attempts": self.message.attempts + 1,
            "next_attempt_at": retry_at,
            "last_error": error[:1000],
        }

    def mark_dead(self, error: str, now: datetime) -> None:
        self.sent_at = None
        self.values = {
            "status": DeliveryStatus.DEAD.value,
            "attempts": self.message.attempts + 1,
            "next_attempt_at": now,
            "last_error": error[:1000],
            **self._forget,
        }


class SqlAlchemyQueue(DeliveryQueue[M]):
    def __init__(self, outbox: OutboxTable[M], engine: AsyncEngine, listen_dsn: str | None) -> None:
        self._outbox = outbox
        self._engine = engine
        self._listen_dsn = listen_dsn
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None
        t = outbox.table
        self._claim = (
            select(t)
            .where(
                t.c.status == DeliveryStatus.PENDING.value,
                t.c.next_attempt_at <= bindparam("now"),
            )
            .order_by(t.c.next_attempt_at)
            .limit(bindparam("limit"))
            .with_for_update(skip_locked=True)
        )
        # Every sent message of a batch in one statement: its id and when it was sent, side by
        # side in two arrays (``unnest``), the columns a done message forgets reset.
        sent = (
            func.unnest(
                bindparam("ids", type_=ARRAY(t.c.id.type)),
                bindparam("times", type_=ARRAY(t.c.sent_at.type)),
            )
            .table_valued("id", "sent_at")
            .render_derived()
        )
        self._sent = (
            update(t)
            .where(t.c.id == sent.c.id)
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=sent.c.sent_at,
                attempts=t.c.attempts + 1,
                last_error=None,
                **outbox.forget,
            )
        )

    @contextlib.asynccontextmanager
    async def claim_due(self, now: datetime, limit: int) -> AsyncIterator[Sequence[Claim[M]]]:
        async with self._engine.connect() as conn:
            await conn.begin()
            rows = (await conn.execute(self._claim, {"now": now, "limit": limit})).all()
            claims = [_Claim(self._outbox.message(row), self._outbox.forget) for row in rows]
            try:
                yield claims
            finally:
                # However the batch ended (cancelled at shutdown too): what was delivered is
                # recorded. A failure here leaves the transaction to roll back as the
                # connection goes back to the pool: every message of the batch stays pending.
                await self._record(conn, claims)
                await conn.commit()

    async def _record(self, conn: AsyncConnection, claims: Sequence[_Claim[M]]) -> None:
        sent = [c for c in claims if c.sent_at is not None]
        if sent:
            await conn.execute(
                self._sent,
                {"ids": [c.message.id for c in sent], "times": [c.sent_at for c in sent]},
            )
        t = self._outbox.table
        for claim in claims:
            if claim.values is not None:
                await conn.execute(
                    update(t).where(t.c.id == claim.message.id).values(**claim.values)
                )

    async def backlog(self) -> int:
        t = self._outbox.table
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(t)
                .where(t.c.status == DeliveryStatus.PENDING.value)
            )
        return int(count or 0)

    async def wait_for_messages(self, wait_seconds: float) -> None:
        await self._ensure_listening()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), wait_seconds)
        self._wake.clear()

    async def _ensure_listening(self) -> None:
        if self._listen_dsn is None:
            return
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            self._listener = await asyncpg.connect(self._listen_dsn, timeout=3)
            await self._listener.add_listener(self._outbox.channel, self._on_notify)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            log.warning("%s LISTEN unavailable; polling only", self._outbox.table.name)
            self._listener = None

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        self._listener = None
