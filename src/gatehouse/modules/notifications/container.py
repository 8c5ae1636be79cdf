"""Wiring of the notifications module."""

from __future__ import annotations

from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.notifications.adapters.outbox import (
    SqlAlchemyOutboxStore,
)
from gatehouse.modules.notifications.adapters.transports import (
    LogMailTransport,
    SmtpConfig,
    SmtpMailTransport,
)
from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.ports import MailTransport


def _transport(smtp_url: str | None, sender: str, timeout: float) -> MailTransport:
    if not smtp_url:
        return LogMailTransport()
    return SmtpMailTransport(SmtpConfig.from_url(smtp_url, timeout), sender)


def _mail_domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


class NotificationsContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    engine: providers.Dependency[Any] = providers.Dependency()
    listen_dsn: providers.Dependency[Any] = providers.Dependency()
    smtp_url: providers.Dependency[Any] = providers.Dependency()
    mail_from: providers.Dependency[str] = providers.Dependency(instance_of=str)
    smtp_timeout: providers.Dependency[float] = providers.Dependency(instance_of=float)
    resolvers: providers.Dependency[Any] = providers.Dependency()  # template -> MailResolver
    renderer: providers.Dependency[Any] = providers.Dependency()  # MailRenderer, from main

    store = providers.Singleton(SqlAlchemyOutboxStore, engine, listen_dsn)
    transport = providers.Singleton(_transport, smtp_url, mail_from, smtp_timeout)
    dispatch = providers.Singleton(
        DispatchOutboxHandler,
        store=store,
        transport=transport,
        renderer=renderer,
        resolvers=resolvers,
        clock=clock,
        mail_domain=providers.Callable(_mail_domain, mail_from),
    )
