"""Wiring of the audit module: inputs declared, main provides them; ``subscriptions`` is what it
exports (its handlers of other modules' security events)."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.audit.adapters.trail import AsyncpgAuditEventViews, audit_subscriptions
from gatehouse.modules.audit.application.queries import (
    ListAuditEventsHandler,
    SearchAuditEventsHandler,
)


class AuditContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    read_pool: providers.Dependency[Any] = providers.Dependency()

    subscriptions = providers.Singleton(audit_subscriptions, clock)
    views = providers.Singleton(AsyncpgAuditEventViews, read_pool)
    list_events = providers.Singleton(ListAuditEventsHandler, views)
    search_events = providers.Singleton(SearchAuditEventsHandler, views)
