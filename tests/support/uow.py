"""The accounts, auth and organizations units of work with the event handlers main registers
(audit's trail, notifications' outbox, accounts' MFA summary and webhook publisher,
notifications' webhook outbox, auth's session ending, organizations' memberships ending), all
writing in their transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.repositories import (
    SqlAlchemyAccountsUnitOfWork,
    accounts_subscriptions,
)
from gatehouse.modules.accounts.adapters.webhooks import webhook_subscriptions as publishing
from gatehouse.modules.audit.adapters.trail import audit_subscriptions
from gatehouse.modules.auth.adapters.events import auth_subscriptions
from gatehouse.modules.auth.adapters.repositories import SqlAlchemyAuthUnitOfWork
from gatehouse.modules.auth.application.ports import SessionRevocations
from gatehouse.modules.notifications.adapters.outbox import (
    FernetParamsSealer,
    outbox_subscriptions,
    stored_params,
)
from gatehouse.modules.notifications.adapters.webhook_outbox import webhook_subscriptions
from gatehouse.modules.notifications.application.webhooks import ConfiguredSubscribers
from gatehouse.modules.notifications.domain.webhooks import WebhookEndpoint
from gatehouse.modules.organizations.adapters.events import organizations_subscriptions
from gatehouse.modules.organizations.adapters.repositories import (
    SqlAlchemyOrganizationsUnitOfWork,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.messagebus import EventHandlers
from tests.support.builders import T0
from tests.support.clock import FixedClock

# Seals the outbox's mail parameters in these units of work (readers open them with it).
SEALER = FernetParamsSealer({1: b"k" * 32})


def opened_params(column: str | dict[str, str]) -> dict[str, str]:
    """An outbox row's ``params`` column as the dispatcher will render them."""
    params = stored_params(column)
    return params if isinstance(params, dict) else SEALER.open(params)


class _NoDenylist(SessionRevocations):
    """Integration tests of one unit of work check PostgreSQL, not Redis."""

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return False

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        return None

    async def sync(self, interval_seconds: float) -> int:
        return 0


def event_handlers(
    clock: Clock,
    revocations: SessionRevocations | None = None,
    webhooks: Sequence[WebhookEndpoint] = (),
) -> EventHandlers:
    """Every module's subscriptions, as ``build_container`` joins them (``webhooks``: the
    configured endpoints; none by default)."""
    return EventHandlers.of(
        [
            audit_subscriptions(clock),
            outbox_subscriptions(clock, SEALER),
            webhook_subscriptions(clock, webhooks),
            accounts_subscriptions(),
            publishing(ConfiguredSubscribers(webhooks)),
            auth_subscriptions(clock, revocations or _NoDenylist()),
            organizations_subscriptions(),
        ]
    )


def accounts_uow(
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    webhooks: Sequence[WebhookEndpoint] = (),
) -> Callable[[], SqlAlchemyAccountsUnitOfWork]:
    handlers = event_handlers(clock or FixedClock(T0), webhooks=webhooks)
    return lambda: SqlAlchemyAccountsUnitOfWork(session_factory, handlers)


def auth_uow(
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock | None = None,
    revocations: SessionRevocations | None = None,
) -> Callable[[], SqlAlchemyAuthUnitOfWork]:
    """``revocations`` is told about ended sessions after a commit (none by default)."""
    handlers = event_handlers(clock or FixedClock(T0), revocations)
    return lambda: SqlAlchemyAuthUnitOfWork(session_factory, handlers)


def organizations_uow(
    session_factory: async_sessionmaker[AsyncSession], clock: Clock | None = None
) -> Callable[[], SqlAlchemyOrganizationsUnitOfWork]:
    handlers = event_handlers(clock or FixedClock(T0))
    return lambda: SqlAlchemyOrganizationsUnitOfWork(session_factory, handlers)
