"""Wiring of the audit module."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.audit.adapters.trail import AsyncpgAuditEventViews, SqlAlchemyAuditTrail
from gatehouse.modules.audit.application.queries import ListAuditEventsHandler


class AuditContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    read_pool: providers.Dependency[Any] = providers.Dependency()

    # Called with the caller's AsyncSession: ``trail_factory(session)``.
    trail_factory = providers.Factory(SqlAlchemyAuditTrail, clock=clock).provider
    views = providers.Singleton(AsyncpgAuditEventViews, read_pool)
    list_events = providers.Singleton(ListAuditEventsHandler, views)
