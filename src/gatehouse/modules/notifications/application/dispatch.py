"""The mail outbox's dispatcher: open the mail's sealed parameters, resolve a mail request,
render the template, send it over the transport; the claiming, retrying and dead-lettering are
every outbox's (``OutboxDispatcher``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from gatehouse.modules.notifications.application.outbox import DispatchResult, OutboxDispatcher
from gatehouse.modules.notifications.application.ports import (
    MailRenderer,
    MailTransport,
    OutboxStore,
    ParamsSealer,
)
from gatehouse.modules.notifications.application.public import MailResolver, OutgoingMail
from gatehouse.modules.notifications.domain.errors import (
    DeliveryFailed,
    ParamsUnreadable,
    TemplateFailed,
    UnknownTemplate,
)
from gatehouse.modules.notifications.domain.model import (
    MAIL_RETRIES,
    OutboxMessage,
    RenderedMail,
    SealedParams,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.errors import Unavailable

log = logging.getLogger("gatehouse.notifications")

__all__ = ["DispatchOutboxHandler", "DispatchResult"]


class DispatchOutboxHandler:
    """Sends due mail. The row stays locked while it is sent, so no two dispatchers send it."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        transport: MailTransport,
        renderer: MailRenderer,
        sealer: ParamsSealer,
        clock: Clock,
        mail_domain: str,
        resolvers: Mapping[str, MailResolver] | None = None,
        concurrency: int = 1,
    ) -> None:
        self._renderer = renderer
        self._sealer = sealer
        self._resolvers = resolvers or {}
        self._transport = transport
        self._mail_domain = mail_domain
        self._dispatch = OutboxDispatcher(
            queue=store,
            deliver=self._deliver,
            retries=MAIL_RETRIES,
            clock=clock,
            what="mail",
            concurrency=concurrency,
        )

    async def __call__(self, max_messages: int = 50) -> DispatchResult:
        return await self._dispatch(max_messages)

    async def _deliver(self, message: OutboxMessage) -> bool:
        mail = OutgoingMail(message.to, message.template, self._open(message), message.locale)
        resolver = self._resolvers.get(mail.template)
        if resolver is not None:
            try:
                resolved = await resolver.resolve(mail)
            except Unavailable as error:  # the database blinked: later, not dead
                raise DeliveryFailed(f"resolve: {error!r}", permanent=False) from error
            except Exception as error:  # a bug or bad data: never block the queue
                log.exception("mail request not resolved", extra={"id": str(message.id)})
                raise DeliveryFailed(f"resolve: {error!r}", permanent=True) from error
            if resolved is None:  # nothing to send (an unknown address): done
                return False
            mail = resolved
        try:
            parts = self._renderer.render(mail.template, mail.params, mail.locale)
        except (UnknownTemplate, TemplateFailed) as error:
            raise DeliveryFailed(f"template: {error!r}", permanent=True) from error
        await self._transport.send(
            RenderedMail(
                to=mail.to,
                subject=parts.subject,
                text=parts.text,
                html=parts.html,
                message_id=f"<{message.id}@{self._mail_domain}>",
            )
        )
        return True

    def _open(self, message: OutboxMessage) -> dict[str, str]:
        """The parameters, opened just before they are used (ADR 0027)."""
        if not isinstance(message.params, SealedParams):
            return message.params  # a row written before the outbox sealed parameters
        try:
            return self._sealer.open(message.params)
        except ParamsUnreadable as error:  # its key was dropped: no retry can open it
            raise DeliveryFailed(f"params: {error}", permanent=True) from error
