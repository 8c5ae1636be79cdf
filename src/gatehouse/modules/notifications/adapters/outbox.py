"""The mail outbox in PostgreSQL: the writer, bound to the caller's session, and the
dispatcher's queue (``SqlAlchemyQueue`` over ``notifications_outbox``).

Writers insert in their own transaction and ``NOTIFY`` (delivered only on commit). The
dispatcher locks one due row with ``FOR UPDATE SKIP LOCKED`` and keeps the lock while the mail
is sent, so concurrent dispatchers never send one message twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import text

from gatehouse.modules.notifications.adapters.orm import OUTBOX_CHANNEL, outbox_table
from gatehouse.modules.notifications.adapters.queue import OutboxTable, SqlAlchemyQueue
from gatehouse.modules.notifications.application.ports import OutboxStore
from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail
from gatehouse.modules.notifications.domain.model import DeliveryStatus, OutboxMessage
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id
from gatehouse.shared.messagebus import Subscription, Transaction


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


def _mail(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        to=row.recipient,
        template=row.template,
        params=dict(row.params),
        locale=row.locale,
        attempts=row.attempts,
        created_at=row.created_at,
    )


# The parameters may hold one-time links: they are not kept once a mail is done.
MAIL_OUTBOX = OutboxTable(outbox_table, OUTBOX_CHANNEL, _mail, forget={"params": {}})


class SqlAlchemyOutboxStore(SqlAlchemyQueue[OutboxMessage], OutboxStore):
    def __init__(self, engine: AsyncEngine, listen_dsn: str | None) -> None:
        super().__init__(MAIL_OUTBOX, engine, listen_dsn)
