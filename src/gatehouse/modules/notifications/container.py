"""Wiring of the notifications module: inputs declared, main provides them. Exports the mail
caps and template locales other modules use, its outbox ``subscriptions`` (mail and webhooks),
``webhook_subscribers`` (whether an endpoint wants an event type), ``outboxes`` (what the
dispatcher loops run), and two extension points main registers other modules into:
``resolvers`` (their mail-request resolvers, ``register_resolver``) and ``template_dirs``
(their mail templates, ``register_mail_templates``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.notifications.adapters.mail_caps import RedisMailCaps
from gatehouse.modules.notifications.adapters.mail_templates import JinjaMailRenderer
from gatehouse.modules.notifications.adapters.outbox import (
    FernetParamsSealer,
    SqlAlchemyOutboxStore,
    outbox_subscriptions,
)
from gatehouse.modules.notifications.adapters.transports import (
    LogMailTransport,
    SmtpConfig,
    SmtpMailTransport,
)
from gatehouse.modules.notifications.adapters.webhook_http import HttpxWebhookSender
from gatehouse.modules.notifications.adapters.webhook_outbox import (
    SqlAlchemyWebhookQueue,
    webhook_subscriptions,
)
from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.ports import MailTransport, ParamsSealer
from gatehouse.modules.notifications.application.webhooks import (
    ConfiguredSubscribers,
    DispatchWebhooksHandler,
)
from gatehouse.modules.notifications.domain.webhooks import WebhookEndpoint
from gatehouse.modules.notifications.entrypoints.worker import Outbox
from gatehouse.shared.clock import Clock
from gatehouse.shared.messagebus import Subscription


def _transport(smtp_url: str | None, sender: str, timeout: float) -> MailTransport:
    if not smtp_url:
        return LogMailTransport()
    return SmtpMailTransport(SmtpConfig.from_url(smtp_url, timeout), sender)


def _subscriptions(
    clock: Clock, endpoints: Iterable[WebhookEndpoint], sealer: ParamsSealer
) -> list[Subscription[Any]]:
    return [*outbox_subscriptions(clock, sealer), *webhook_subscriptions(clock, endpoints)]


def _outboxes(
    mail: Outbox, webhooks: Outbox, endpoints: tuple[WebhookEndpoint, ...]
) -> list[Outbox]:
    """The mail outbox, and the webhook outbox when an endpoint is configured (rows written
    while one was configured wait for the next start with endpoints)."""
    return [mail, webhooks] if endpoints else [mail]


def _mail_domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


class NotificationsContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    engine: providers.Dependency[Any] = providers.Dependency()
    redis: providers.Dependency[Any] = providers.Dependency()
    redis_health: providers.Dependency[Any] = providers.Dependency()  # shared.RedisHealth
    listen_dsn: providers.Dependency[Any] = providers.Dependency()
    smtp_url: providers.Dependency[Any] = providers.Dependency()
    mail_from: providers.Dependency[str] = providers.Dependency(instance_of=str)
    smtp_timeout: providers.Dependency[float] = providers.Dependency(instance_of=float)
    public_url: providers.Dependency[str] = providers.Dependency(instance_of=str)
    # Versioned keys that seal a mail's parameters while it waits (ADR 0027; main passes the
    # MFA keys, from which the sealer derives a key of its own).
    sealing_keys: providers.Dependency[dict[int, bytes]] = providers.Dependency(instance_of=dict)
    # GATEHOUSE_WEBHOOKS, validated by main's settings.
    webhook_endpoints: providers.Dependency[tuple[WebhookEndpoint, ...]] = providers.Dependency(
        instance_of=tuple, default=()
    )
    webhook_timeout: providers.Dependency[float] = providers.Dependency(
        instance_of=float, default=10.0
    )
    # Messages of a batch each dispatcher has in flight at once (a batch holds one connection).
    concurrency: providers.Dependency[int] = providers.Dependency(instance_of=int, default=1)

    sealer = providers.Singleton(FernetParamsSealer, sealing_keys)
    subscriptions = providers.Singleton(_subscriptions, clock, webhook_endpoints, sealer)
    # Other modules' mail templates directories: an extension point (``register_mail_templates``).
    template_dirs = providers.List()
    renderer = providers.Singleton(JinjaMailRenderer, modules=template_dirs, public_url=public_url)
    # The languages mails exist in (accounts checks a saved locale against them).
    locales = renderer.provided.locales
    # One budget per address for every module's mails.
    caps = providers.Singleton(RedisMailCaps, redis, redis_health, clock)
    # template name -> MailResolver: the extension point (``register_resolver``).
    resolvers = providers.Dict()

    store = providers.Singleton(SqlAlchemyOutboxStore, engine, listen_dsn)
    transport = providers.Singleton(_transport, smtp_url, mail_from, smtp_timeout)
    dispatch = providers.Singleton(
        DispatchOutboxHandler,
        store=store,
        transport=transport,
        renderer=renderer,
        sealer=sealer,
        resolvers=resolvers,
        clock=clock,
        mail_domain=providers.Callable(_mail_domain, mail_from),
        concurrency=concurrency,
    )

    # Webhooks: publishers ask ``webhook_subscribers`` before they build a payload.
    webhook_subscribers = providers.Singleton(ConfiguredSubscribers, webhook_endpoints)
    webhook_queue = providers.Singleton(SqlAlchemyWebhookQueue, engine, listen_dsn)
    webhook_sender = providers.Singleton(HttpxWebhookSender, webhook_timeout)
    dispatch_webhooks = providers.Singleton(
        DispatchWebhooksHandler,
        queue=webhook_queue,
        sender=webhook_sender,
        endpoints=webhook_endpoints,
        clock=clock,
        concurrency=concurrency,
    )
    outboxes = providers.Callable(
        _outboxes,
        mail=providers.Factory(Outbox, "mail", dispatch, store),
        webhooks=providers.Factory(Outbox, "webhook", dispatch_webhooks, webhook_queue),
        endpoints=webhook_endpoints,
    )


def register_resolver(
    notifications: containers.Container | providers.Container[NotificationsContainer],
    templates: Iterable[str],
    resolver: providers.Provider[Any],
) -> None:
    """Let ``resolver`` (another module's ``MailResolver`` provider) answer the mail requests
    queued under ``templates``. Before the container is built: the resolver is built lazily."""
    resolvers: providers.Dict = notifications.resolvers  # type: ignore[assignment]
    for template in templates:
        if template in resolvers.kwargs:
            msg = f"a resolver for {template!r} is registered already"
            raise ValueError(msg)
        resolvers.add_kwargs({template: resolver})


def register_mail_templates(
    notifications: containers.Container | providers.Container[NotificationsContainer],
    directory: Path,
) -> None:
    """Render the mails in ``directory`` (``<locale>/<name>.{subject,txt,html}``, extending
    notifications' layout and partials) beside notifications' own. Before the container is
    built; the renderer checks the directory when it is built (at start) and refuses one that
    is broken or holds a file another directory has."""
    template_dirs: providers.List = notifications.template_dirs  # type: ignore[assignment]
    template_dirs.add_args(directory)
