"""The dispatcher's side of an outbox table in PostgreSQL, whichever outbox it is (mail,
webhooks): the tables share the delivery columns (``status``, ``attempts``,
``next_attempt_at``, ``sent_at``, ``last_error``) and the partial index on due rows.

Writers insert in their own transaction and ``NOTIFY`` the table's channel (delivered only on
commit). The dispatcher locks one due row with ``FOR UPDATE SKIP LOCKED`` and keeps the lock
while the message is delivered, recording the outcome in the same transaction, so concurrent
dispatchers never deliver one message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic

import asyncpg
from sqlalchemy import Row, Table, func, select, update
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
    def __init__(self, outbox: OutboxTable[M], conn: AsyncConnection, message: M) -> None:
        self._outbox = outbox
        self._conn = conn
        self.message = message

    async def _set(self, **values: Any) -> None:
        t = self._outbox.table
        await self._conn.execute(update(t).where(t.c.id == self.message.id).values(**values))

    async def mark_sent(self, now: datetime) -> None:
        await self._set(
            status=DeliveryStatus.SENT.value,
            sent_at=now,
            attempts=self.message.attempts + 1,
            last_error=None,
            **self._outbox.forget,
        )

    async def mark_failed(self, error: str, retry_at: datetime) -> None:
        await self._set(
            attempts=self.message.attempts + 1, next_attempt_at=retry_at, last_error=error[:1000]
        )

    async def mark_dead(self, error: str, now: datetime) -> None:
        await self._set(
            status=DeliveryStatus.DEAD.value,
            attempts=self.message.attempts + 1,
            next_attempt_at=now,
            last_error=error[:1000],
            **self._outbox.forget,
        )


class SqlAlchemyQueue(DeliveryQueue[M]):
    def __init__(self, outbox: OutboxTable[M], engine: AsyncEngine, listen_dsn: str | None) -> None:
        self._outbox = outbox
        self._engine = engine
        self._listen_dsn = listen_dsn
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    @contextlib.asynccontextmanager
    async def claim_next(self, now: datetime) -> AsyncIterator[Claim[M] | None]:
        t = self._outbox.table
        async with self._engine.connect() as conn, conn.begin():
            row = (
                await conn.execute(
                    select(t)
                    .where(
                        t.c.status == DeliveryStatus.PENDING.value,
                        t.c.next_attempt_at <= now,
                    )
                    .order_by(t.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                yield None
                return
            yield _Claim(self._outbox, conn, self._outbox.message(row))

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
