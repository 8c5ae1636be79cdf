"""The webhook outbox in PostgreSQL: the writer, bound to the caller's session, and the
dispatcher's queue (``SqlAlchemyQueue`` over ``notifications_webhook_outbox``).

An ``OutgoingWebhook`` becomes one row per configured endpoint that wants its type, in the
transaction that recorded it, so an event is delivered exactly when its change committed. The
body is written once, then every attempt sends the same bytes under the same webhook-id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import text

from gatehouse.modules.notifications.adapters.orm import WEBHOOK_CHANNEL, webhook_outbox_table
from gatehouse.modules.notifications.adapters.queue import OutboxTable, SqlAlchemyQueue
from gatehouse.modules.notifications.application.ports import WebhookQueue
from gatehouse.modules.notifications.application.public import OutgoingWebhook
from gatehouse.modules.notifications.domain.model import DeliveryStatus
from gatehouse.modules.notifications.domain.webhooks import (
    WebhookEndpoint,
    WebhookMessage,
    webhook_body,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id
from gatehouse.shared.messagebus import Subscription, Transaction


class SqlAlchemyWebhookOutbox:
    """Bound to the caller's session: the rows commit or roll back with the change."""

    def __init__(
        self, session: AsyncSession, clock: Clock, endpoints: Iterable[WebhookEndpoint]
    ) -> None:
        self._session = session
        self._clock = clock
        self._endpoints = tuple(endpoints)

    async def enqueue(self, webhook: OutgoingWebhook) -> None:
        urls = [e.url for e in self._endpoints if e.wants(webhook.type)]
        if not urls:
            return
        now = self._clock.now()
        body = webhook_body(webhook.type, now, webhook.data)
        await self._session.execute(
            insert(webhook_outbox_table),
            [
                {
                    "id": new_id(),
                    "endpoint_url": url,
                    "event_type": webhook.type,
                    "payload": body,
                    "status": DeliveryStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for url in urls
            ],
        )
        await self._session.execute(text(f"NOTIFY {WEBHOOK_CHANNEL}"))


def webhook_subscriptions(
    clock: Clock, endpoints: Iterable[WebhookEndpoint]
) -> list[Subscription[Any]]:
    """Events other modules publish, written to the webhook outbox in their transaction. With no
    endpoint configured nothing is written (and publishers, asking ``wants``, record nothing)."""
    configured = tuple(endpoints)

    async def enqueue(webhook: OutgoingWebhook, tx: Transaction) -> None:
        await SqlAlchemyWebhookOutbox(tx.session, clock, configured).enqueue(webhook)

    return [Subscription(OutgoingWebhook, in_transaction=enqueue)]


def _webhook(row: Row[Any]) -> WebhookMessage:
    return WebhookMessage(
        id=row.id,
        url=row.endpoint_url,
        event_type=row.event_type,
        body=row.payload,
        attempts=row.attempts,
        created_at=row.created_at,
    )


WEBHOOK_OUTBOX = OutboxTable(webhook_outbox_table, WEBHOOK_CHANNEL, _webhook)


class SqlAlchemyWebhookQueue(SqlAlchemyQueue[WebhookMessage], WebhookQueue):
    def __init__(self, engine: AsyncEngine, listen_dsn: str | None) -> None:
        super().__init__(WEBHOOK_OUTBOX, engine, listen_dsn)
