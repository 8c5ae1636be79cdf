"""The webhook outbox's dispatcher: sign each message with its endpoint's current secrets and
POST it; the claiming, retrying and dead-lettering are every outbox's (``OutboxDispatcher``).

The endpoint is found by the URL the row was written for, so a secret rotated while a message
waits signs its next attempt. A row whose URL is no longer configured is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Iterable

from gatehouse.modules.notifications.application.outbox import DispatchResult, OutboxDispatcher
from gatehouse.modules.notifications.application.ports import WebhookQueue, WebhookSender
from gatehouse.modules.notifications.application.public import WebhookSubscribers
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.webhooks import (
    WEBHOOK_RETRIES,
    WebhookEndpoint,
    WebhookMessage,
    signature_headers,
)
from gatehouse.shared.clock import Clock

NOT_CONFIGURED = "the endpoint is no longer configured"


class ConfiguredSubscribers(WebhookSubscribers):
    def __init__(self, endpoints: Iterable[WebhookEndpoint]) -> None:
        self._endpoints = tuple(endpoints)

    def wants(self, event_type: str) -> bool:
        return any(endpoint.wants(event_type) for endpoint in self._endpoints)


class DispatchWebhooksHandler:
    def __init__(
        self,
        *,
        queue: WebhookQueue,
        sender: WebhookSender,
        endpoints: Iterable[WebhookEndpoint],
        clock: Clock,
        concurrency: int = 1,
    ) -> None:
        self._sender = sender
        self._endpoints = {endpoint.url: endpoint for endpoint in endpoints}
        self._clock = clock
        self._dispatch = OutboxDispatcher(
            queue=queue,
            deliver=self._deliver,
            retries=WEBHOOK_RETRIES,
            clock=clock,
            what="webhook",
            concurrency=concurrency,
        )

    async def __call__(self, max_messages: int = 50) -> DispatchResult:
        return await self._dispatch(max_messages)

    async def _deliver(self, message: WebhookMessage) -> bool:
        endpoint = self._endpoints.get(message.url)
        if endpoint is None:
            raise DeliveryFailed(NOT_CONFIGURED, permanent=True)
        headers = signature_headers(
            message.webhook_id, self._clock.now(), message.body, endpoint.secrets
        )
        await self._sender.post(endpoint.url, headers, message.body.encode())
        return True
