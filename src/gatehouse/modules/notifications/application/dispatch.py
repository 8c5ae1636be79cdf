"""The outbox dispatcher: claim one due message at a time, send it, record the outcome."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from gatehouse.modules.notifications.application.ports import (
    MailRenderer,
    MailTransport,
    OutboxStore,
)
from gatehouse.modules.notifications.application.public import MailResolver, OutgoingMail
from gatehouse.modules.notifications.domain.errors import (
    DeliveryFailed,
    TemplateFailed,
    UnknownTemplate,
)
from gatehouse.modules.notifications.domain.model import (
    MAX_ATTEMPTS,
    RenderedMail,
    next_attempt_delay,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.errors import Unavailable

log = logging.getLogger("gatehouse.notifications")


@dataclass(frozen=True, slots=True)
class DispatchResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead


class DispatchOutboxHandler:
    """Sends due mail. The row stays locked while it is sent, so no two dispatchers send it."""

    def __init__(
        self,
        *,
        store: OutboxStore,
        transport: MailTransport,
        renderer: MailRenderer,
        clock: Clock,
        mail_domain: str,
        resolvers: Mapping[str, MailResolver] | None = None,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._resolvers = resolvers or {}
        self._transport = transport
        self._clock = clock
        self._mail_domain = mail_domain

    async def __call__(self, max_messages: int = 50) -> DispatchResult:
        sent = failed = dead = 0
        for _ in range(max_messages):
            async with self._store.claim_next(self._clock.now()) as claim:
                if claim is None:
                    break
                message = claim.message
                now = self._clock.now()
                resolver = self._resolvers.get(message.template)
                if resolver is not None:
                    request = OutgoingMail(
                        message.to, message.template, message.params, message.locale
                    )
                    try:
                        resolved = await resolver.resolve(request)
                    except Unavailable as error:  # the database blinked: later, not dead
                        retry_at = now + next_attempt_delay(message.attempts + 1)
                        await claim.mark_failed(f"resolve: {error!r}", retry_at)
                        failed += 1
                        continue
                    except Exception as error:  # a bug or bad data: never block the queue
                        log.exception("mail request not resolved", extra={"id": str(message.id)})
                        await claim.mark_dead(f"resolve: {error!r}", now)
                        dead += 1
                        continue
                    if resolved is None:  # nothing to send (an unknown address): done
                        await claim.mark_sent(now)
                        continue
                    message = dataclasses.replace(
                        message,
                        to=resolved.to,
                        template=resolved.template,
                        params=dict(resolved.params),
                        locale=resolved.locale,
                    )
                try:
                    parts = self._renderer.render(message.template, message.params, message.locale)
                except (UnknownTemplate, TemplateFailed) as error:
                    await claim.mark_dead(f"template: {error!r}", now)
                    dead += 1
                    continue
                mail = RenderedMail(
                    to=message.to,
                    subject=parts.subject,
                    text=parts.text,
                    html=parts.html,
                    message_id=f"<{message.id}@{self._mail_domain}>",
                )
                try:
                    await self._transport.send(mail)
                except DeliveryFailed as error:
                    attempts = message.attempts + 1
                    if error.permanent or attempts >= MAX_ATTEMPTS:
                        await claim.mark_dead(error.reason, now)
                        log.warning("mail dead-lettered", extra={"outbox_id": str(message.id)})
                        dead += 1
                    else:
                        await claim.mark_failed(error.reason, now + next_attempt_delay(attempts))
                        failed += 1
                    continue
                await claim.mark_sent(self._clock.now())
                sent += 1
        return DispatchResult(sent=sent, failed=failed, dead=dead)
