"""The transactional outbox in PostgreSQL.

Writers insert in their own transaction and ``NOTIFY`` (delivered only on commit).
The dispatcher locks one due row with ``FOR UPDATE SKIP LOCKED`` and keeps the lock while
the mail is sent, so concurrent dispatchers never send one message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql import text

from gatehouse.modules.notifications.adapters.orm import OUTBOX_CHANNEL, outbox_table
from gatehouse.modules.notifications.application.ports import OutboxClaim, OutboxStore
from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail
from gatehouse.modules.notifications.domain.model import DeliveryStatus, OutboxMessage
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id
from gatehouse.shared.messagebus import Subscription, Transaction

log = logging.getLogger("gatehouse.notifications")


class SqlAlchemyMailOutbox(MailOutbox):
    """Bound to the caller's session: the mail commits or rolls back with the change."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def enqueue(self, mail: OutgoingMail) -> None:
        now = self._clock.now()
        await self._session.execute(
            insert(outbox_table).values(
                id=new_id(),
                recipient=mail.to,
                template=mail.template,
                params=dict(mail.params),
                locale=mail.locale,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        await self._session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))


def outbox_subscriptions(clock: Clock) -> list[Subscription[Any]]:
    """Mails other modules queue, written to the outbox in their transaction."""

    async def enqueue(mail: OutgoingMail, tx: Transaction) -> None:
        await SqlAlchemyMailOutbox(tx.session, clock).enqueue(mail)

    return [Subscription(OutgoingMail, in_transaction=enqueue)]


class _Claim(OutboxClaim):
    def __init__(self, conn: AsyncConnection, message: OutboxMessage) -> None:
        self._conn = conn
        self.message = message

    async def _set(self, **values: Any) -> None:
        await self._conn.execute(
            update(outbox_table).where(outbox_table.c.id == self.message.id).values(**values)
        )

    async def mark_sent(self, now: datetime) -> None:
        # The parameters may hold one-time links: they are not kept once delivered.
        await self._set(
            status=DeliveryStatus.SENT.value,
            sent_at=now,
            attempts=self.message.attempts + 1,
            params={},
            last_error=None,
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
            params={},
            last_error=error[:1000],
        )


class SqlAlchemyOutboxStore(OutboxStore):
    def __init__(self, engine: AsyncEngine, listen_dsn: str | None) -> None:
        self._engine = engine
        self._listen_dsn = listen_dsn
        self._wake = asyncio.Event()
        self._listener: asyncpg.Connection | None = None

    @contextlib.asynccontextmanager
    async def claim_next(self, now: datetime) -> AsyncIterator[OutboxClaim | None]:
        async with self._engine.connect() as conn, conn.begin():
            row = (
                await conn.execute(
                    select(outbox_table)
                    .where(
                        outbox_table.c.status == DeliveryStatus.PENDING.value,
                        outbox_table.c.next_attempt_at <= now,
                    )
                    .order_by(outbox_table.c.next_attempt_at)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
            ).first()
            if row is None:
                yield None
                return
            message = OutboxMessage(
                id=row.id,
                to=row.recipient,
                template=row.template,
                params=dict(row.params),
                locale=row.locale,
                attempts=row.attempts,
                created_at=row.created_at,
            )
            yield _Claim(conn, message)

    async def backlog(self) -> int:
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(outbox_table)
                .where(outbox_table.c.status == DeliveryStatus.PENDING.value)
            )
        return int(count or 0)

    async def wait_for_mail(self, wait_seconds: float) -> None:
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
            await self._listener.add_listener(OUTBOX_CHANNEL, self._on_notify)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            log.warning("outbox LISTEN unavailable; polling only")
            self._listener = None

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def close(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        self._listener = None
