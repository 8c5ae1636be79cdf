"""Publishing security events to webhooks, in the transaction that records them: the account's
address is read on that transaction's session, so it is the address as of the change (the new
one after an email change, an account created in the same transaction included)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from gatehouse.modules.accounts.adapters.orm import user_table
from gatehouse.modules.accounts.application.webhooks import webhooks_for
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.application.public import WebhookSubscribers
from gatehouse.shared.messagebus import Subscription, Transaction


def webhook_subscriptions(subscribers: WebhookSubscribers) -> list[Subscription[Any]]:
    async def publish(event: SecurityEvent, tx: Transaction) -> None:
        async def email_of(user_id: uuid.UUID) -> str | None:
            email = await tx.session.scalar(
                select(user_table.c.email).where(user_table.c.id == user_id)
            )
            return None if email is None else str(email.value)

        for webhook in await webhooks_for(event, wants=subscribers.wants, email_of=email_of):
            tx.record(webhook)

    return [Subscription(SecurityEvent, in_transaction=publish)]
