"""The mail outbox in PostgreSQL: the writer, bound to the caller's session, and the
dispatcher's queue (``SqlAlchemyQueue`` over ``notifications_outbox``).

Writers insert in their own transaction and ``NOTIFY`` (delivered only on commit). The
dispatcher locks one due row with ``FOR UPDATE SKIP LOCKED`` and keeps the lock while the mail
is sent, so concurrent dispatchers never send one message twice.

A mail's parameters hold one-time links and codes, so the row keeps them sealed
(``FernetParamsSealer``: a JSON string ``"v1:<Fernet token>"`` in the ``params`` column) until
the dispatcher opens them to render the mail, and wipes them once the mail is done. A row
written before sealing holds a JSON object, sent as it is (ADR 0027).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import text

from gatehouse.modules.notifications.adapters.orm import OUTBOX_CHANNEL, outbox_table
from gatehouse.modules.notifications.adapters.queue import OutboxTable, SqlAlchemyQueue
from gatehouse.modules.notifications.application.ports import OutboxStore, ParamsSealer
from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail
from gatehouse.modules.notifications.domain.errors import ParamsUnreadable
from gatehouse.modules.notifications.domain.model import (
    DeliveryStatus,
    OutboxMessage,
    SealedParams,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id
from gatehouse.shared.messagebus import Subscription, Transaction
from gatehouse.shared.sealing import Unsealable, VersionedFernet

_PURPOSE = b"gatehouse mail outbox params v1"


class FernetParamsSealer(ParamsSealer):
    """The parameters as JSON, sealed with Fernet under versioned keys (``VersionedFernet``);
    every configured version opens, the newest seals."""

    def __init__(self, keys: Mapping[int, bytes]) -> None:
        self._box = VersionedFernet(keys, purpose=_PURPOSE)

    def seal(self, params: Mapping[str, str]) -> SealedParams:
        plain = json.dumps(dict(params), ensure_ascii=False, separators=(",", ":"))
        return SealedParams(self._box.seal(plain.encode("utf-8")))

    def open(self, sealed: SealedParams) -> dict[str, str]:
        try:
            params: dict[str, str] = json.loads(self._box.open(sealed.text))
        except Unsealable as error:
            raise ParamsUnreadable(str(error)) from error
        return params


def stored_params(value: str | dict[str, str]) -> dict[str, str] | SealedParams:
    """The ``params`` column as the dispatcher takes it: a JSON string is sealed; an object is
    a row written before the outbox sealed parameters (or one done, its parameters wiped)."""
    return SealedParams(value) if isinstance(value, str) else dict(value)


class SqlAlchemyMailOutbox(MailOutbox):
    """Bound to the caller's session: the mail commits or rolls back with the change."""

    def __init__(self, session: AsyncSession, clock: Clock, sealer: ParamsSealer) -> None:
        self._session = session
        self._clock = clock
        self._sealer = sealer

    async def enqueue(self, mail: OutgoingMail) -> None:
        now = self._clock.now()
        await self._session.execute(
            insert(outbox_table).values(
                id=new_id(),
                recipient=mail.to,
                template=mail.template,
                params=self._sealer.seal(mail.params).text,
                locale=mail.locale,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        await self._session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))


def outbox_subscriptions(clock: Clock, sealer: ParamsSealer) -> list[Subscription[Any]]:
    """Mails other modules queue, written to the outbox in their transaction."""

    async def enqueue(mail: OutgoingMail, tx: Transaction) -> None:
        await SqlAlchemyMailOutbox(tx.session, clock, sealer).enqueue(mail)

    return [Subscription(OutgoingMail, in_transaction=enqueue)]


def _mail(row: Row[Any]) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        to=row.recipient,
        template=row.template,
        params=stored_params(row.params),
        locale=row.locale,
        attempts=row.attempts,
        created_at=row.created_at,
    )


# The parameters may hold one-time links: not even sealed are they kept once a mail is done.
MAIL_OUTBOX = OutboxTable(outbox_table, OUTBOX_CHANNEL, _mail, forget={"params": {}})


class SqlAlchemyOutboxStore(SqlAlchemyQueue[OutboxMessage], OutboxStore):
    def __init__(self, engine: AsyncEngine, listen_dsn: str | None) -> None:
        super().__init__(MAIL_OUTBOX, engine, listen_dsn)
