"""Module containers as unit tests use them: the real wiring, with fakes in place of the
adapters that need infrastructure (``override``), so a handler under test is built exactly as
the app builds it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from dependency_injector import providers

from gatehouse.modules.accounts.application.public import AccountDirectory
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy
from gatehouse.modules.auth.application.ports import (
    AccessTokenIssuer,
    Lockout,
    QrCodes,
    SessionRevocations,
)
from gatehouse.modules.auth.container import AuthContainer
from gatehouse.modules.notifications.application.ports import MailTransport, OutboxStore
from gatehouse.modules.notifications.application.public import (
    MailCaps,
    MailResolver,
    WebhookSubscribers,
)
from gatehouse.modules.notifications.container import NotificationsContainer, register_resolver
from gatehouse.modules.organizations.container import OrganizationsContainer
from gatehouse.shared.clock import Clock
from gatehouse.shared.redis_health import RedisHealth, RedisServer
from tests.support.fakes.auth import (
    InMemoryAuthUnitOfWork,
    InMemoryLockout,
    InMemoryRefreshRotations,
)
from tests.support.fakes.notifications import FakeMailCaps, FakeWebhookSubscribers

REFRESH_TOKEN_KEY = b"k" * 32
MFA_KEYS = {1: b"k" * 32}


def auth_container(
    *,
    clock: Clock,
    accounts: AccountDirectory,
    tokens: AccessTokenIssuer,
    revocations: SessionRevocations,
    caps: MailCaps | None = None,
    lockout: Lockout | None = None,
    qr: QrCodes | None = None,
) -> AuthContainer:
    """The auth container with ``uow`` still to be overridden (``with_uow``); the lockout is
    ``lockout`` or a fresh ``InMemoryLockout`` on ``clock``."""
    container = AuthContainer(
        clock=clock,
        session_factory=None,
        read_pool=None,
        redis=None,
        redis_health=RedisHealth(),
        redis_server=RedisServer(),
        events=None,
        accounts=accounts,
        mail_caps=caps,
        keys_dir=Path("/nonexistent"),
        create_keys=False,
        key_rotation=None,
        keys_reload_seconds=60,
        issuer="https://id.example.com",
        audience="gatehouse",
        access_ttl_seconds=int(timedelta(minutes=15).total_seconds()),
        idle_ttl_seconds=int(timedelta(days=7).total_seconds()),
        absolute_ttl_seconds=int(timedelta(days=30).total_seconds()),
        reuse_grace_seconds=10,
        refresh_token_key=REFRESH_TOKEN_KEY,
        allowed_origins=frozenset(),
        mfa_keys=MFA_KEYS,
        mfa_issuer="Gatehouse",
        lockout_free_attempts=5,
        lockout_first_seconds=60,
        lockout_max_seconds=900,
        lockout_failures_per_hour=100,
        rate_limit_policies={"login": "20/minute", "register": "10/hour"},
        identities=None,
        oidc_providers=(),
        oidc_timeout_seconds=5.0,
        public_url="https://id.example.com",
        oauth_redirect_urls=(),
    )
    container.tokens.override(providers.Object(tokens))
    container.revocations.override(providers.Object(revocations))
    container.lockout.override(providers.Object(lockout or InMemoryLockout(clock)))
    if qr is not None:
        container.qr.override(providers.Object(qr))
    return container


def with_uow(container: Any, uow: object) -> None:
    """Every handler of ``container`` gets ``uow`` (a fake) for its unit of work (and auth's
    lean refresh rotation works on that fake's state too)."""
    container.uow.override(providers.Object(uow))
    if isinstance(uow, InMemoryAuthUnitOfWork):
        container.rotations.override(providers.Object(InMemoryRefreshRotations(uow)))


def accounts_container(
    *,
    clock: Clock,
    uow: object,
    views: object,
    hasher: object,
    caps: MailCaps | None = None,
    locales: tuple[str, ...] = ("en",),
    common_passwords: frozenset[str] = frozenset({"password1"}),
    require_verified_email: bool = True,
    webhooks: WebhookSubscribers | None = None,
) -> AccountsContainer:
    """The accounts container with fakes for its unit of work, read side and hasher."""
    container = AccountsContainer(
        clock=clock,
        session_factory=None,
        read_pool=None,
        events=None,
        mail_caps=caps or FakeMailCaps(),
        locales=locales,
        reset_ttl_seconds=int(timedelta(minutes=30).total_seconds()),
        peppers={1: b"p" * 32},
        bcrypt_rounds=4,
        hash_concurrency=1,
        hash_queue_limit=1,
        public_url="https://id.example.com",
        verification_ttl_seconds=int(timedelta(hours=24).total_seconds()),
        require_verified_email=require_verified_email,
        webhooks=webhooks or FakeWebhookSubscribers(),
    )
    container.uow.override(providers.Object(uow))
    container.views.override(providers.Object(views))
    container.hasher.override(providers.Object(hasher))
    container.policy.override(providers.Object(PasswordPolicy(common_passwords)))
    return container


def notifications_container(
    *,
    clock: Clock,
    store: OutboxStore,
    transport: MailTransport,
    resolvers: Mapping[str, MailResolver] | None = None,
    concurrency: int = 1,
) -> NotificationsContainer:
    """The notifications container with a fake outbox store and transport; ``resolvers`` are
    registered through its extension point, as main registers accounts'."""
    container = NotificationsContainer(
        concurrency=concurrency,
        clock=clock,
        engine=None,
        redis=None,
        redis_health=RedisHealth(),
        listen_dsn=None,
        smtp_url=None,
        mail_from="Gatehouse <no-reply@example.com>",
        smtp_timeout=5.0,
        public_url="https://id.example.com",
        sealing_keys=MFA_KEYS,
    )
    container.store.override(providers.Object(store))
    container.transport.override(providers.Object(transport))
    for template, resolver in (resolvers or {}).items():
        register_resolver(container, [template], providers.Object(resolver))
    return container


def organizations_container(
    *, clock: Clock, uow: object, accounts: AccountDirectory
) -> OrganizationsContainer:
    """The organizations container with a fake unit of work and accounts' facade."""
    container = OrganizationsContainer(
        clock=clock,
        session_factory=None,
        events=None,
        accounts=accounts,
        accept_url="https://app.example.com/accept-invitation",
    )
    container.uow.override(providers.Object(uow))
    return container
