"""The root container: infrastructure singletons, then each module's container."""

from __future__ import annotations

import os

import redis.asyncio as redis
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from gatehouse.main.secrets import load_mfa_keys, load_peppers, load_refresh_token_key
from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.application.mail_requests import MailRequestKind
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.audit.container import AuditContainer
from gatehouse.modules.auth.adapters.keys import KeyRingSource
from gatehouse.modules.auth.adapters.repositories import SqlAlchemySessionTerminator
from gatehouse.modules.auth.adapters.revocations import RedisSessionRevocations
from gatehouse.modules.auth.container import AuthContainer
from gatehouse.modules.notifications.adapters.mail_caps import RedisMailCaps
from gatehouse.modules.notifications.adapters.mail_templates import JinjaMailRenderer
from gatehouse.modules.notifications.adapters.outbox import SqlAlchemyMailOutbox
from gatehouse.modules.notifications.container import NotificationsContainer
from gatehouse.shared.clock import SystemClock
from gatehouse.shared.pg import ReadPool, asyncpg_dsn


def _engine(settings: Settings) -> AsyncEngine:
    assert settings.database_url is not None, "resolve the database URL before building the app"
    return create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=settings.db_connect_timeout_seconds,
        pool_pre_ping=True,
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": 10,
            "server_settings": {"application_name": "gatehouse"},
        },
    )


def _read_pool(settings: Settings) -> ReadPool:
    assert settings.database_url is not None
    return ReadPool(
        asyncpg_dsn(settings.database_url),
        max_size=settings.db_pool_size,
        timeout=settings.db_connect_timeout_seconds,
    )


def _redis(settings: Settings) -> redis.Redis:
    assert settings.redis_url is not None, "resolve the Redis URL before building the app"
    return redis.Redis.from_url(
        settings.redis_url,
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        health_check_interval=30,
    )


def _hash_concurrency(settings: Settings) -> int:
    return settings.hash_concurrency or len(os.sched_getaffinity(0)) or 1


class ApplicationContainer(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    engine = providers.Singleton(_engine, settings)
    session_factory = providers.Singleton(async_sessionmaker, engine, expire_on_commit=False)
    read_pool = providers.Singleton(_read_pool, settings)
    redis = providers.Singleton(_redis, settings)
    peppers = providers.Singleton(load_peppers, settings)
    refresh_token_key = providers.Singleton(load_refresh_token_key, settings)
    mfa_keys = providers.Singleton(load_mfa_keys, settings)
    key_ring = providers.Singleton(
        KeyRingSource,
        settings.provided.resolved_keys_dir,
        create_if_missing=settings.provided.is_dev,
        policy=settings.provided.key_rotation,
        clock=clock,
        reload_seconds=settings.provided.keys_reload_seconds,
    )

    audit = providers.Container(AuditContainer, clock=clock, read_pool=read_pool)

    # What modules hand each other. Bound to the caller's AsyncSession (``factory(session)``),
    # so a mail or the end of a user's sessions commits with the caller's change.
    outbox_factory = providers.Factory(SqlAlchemyMailOutbox, clock=clock).provider
    session_terminator_factory = providers.Factory(
        SqlAlchemySessionTerminator, clock=clock
    ).provider
    session_revocations = providers.Singleton(
        RedisSessionRevocations,
        redis,
        read_pool,
        # Access tokens live this long (plus the verifier's leeway): older ones are refused anyway.
        window_seconds=providers.Callable(
            lambda ttl: ttl + 60, settings.provided.access_token_ttl_seconds
        ),
    )

    # Mail templates: notifications renders with them; accounts checks a saved locale against
    # the languages they exist in.
    mail_renderer = providers.Singleton(JinjaMailRenderer, public_url=settings.provided.public_url)
    mail_locales = mail_renderer.provided.locales
    # One budget per address for every module's mails.
    mail_caps = providers.Singleton(RedisMailCaps, redis, clock)

    accounts = providers.Container(
        AccountsContainer,
        clock=clock,
        session_factory=session_factory,
        read_pool=read_pool,
        outbox_factory=outbox_factory,
        audit_factory=audit.trail_factory,
        sessions_factory=session_terminator_factory,
        session_denylist=session_revocations,
        mail_caps=mail_caps,
        locales=mail_locales,
        reset_ttl_seconds=settings.provided.password_reset_token_ttl_seconds,
        peppers=peppers,
        bcrypt_rounds=settings.provided.bcrypt_rounds,
        hash_concurrency=providers.Callable(_hash_concurrency, settings),
        hash_queue_limit=settings.provided.hash_queue_limit,
        public_url=settings.provided.public_url,
        verification_ttl_seconds=settings.provided.verification_token_ttl_seconds,
        require_verified_email=settings.provided.require_verified_email,
    )
    auth = providers.Container(
        AuthContainer,
        clock=clock,
        session_factory=session_factory,
        accounts=accounts.directory,
        key_ring=key_ring,
        issuer=settings.provided.issuer,
        audience=settings.provided.jwt_audience,
        access_ttl_seconds=settings.provided.access_token_ttl_seconds,
        idle_ttl_seconds=settings.provided.refresh_idle_ttl_seconds,
        absolute_ttl_seconds=settings.provided.refresh_absolute_ttl_seconds,
        reuse_grace_seconds=settings.provided.refresh_reuse_grace_seconds,
        refresh_token_key=refresh_token_key,
        revocations=session_revocations,
        audit_factory=audit.trail_factory,
        outbox_factory=outbox_factory,
        allowed_origins=settings.provided.browser_origins,
        mfa_summary_factory=accounts.mfa_summary_factory,
        mail_caps=mail_caps,
        redis=redis,
        mfa_keys=mfa_keys,
        mfa_issuer=settings.provided.mfa_issuer,
    )

    notifications = providers.Container(
        NotificationsContainer,
        clock=clock,
        engine=engine,
        listen_dsn=read_pool.provided.dsn,
        smtp_url=settings.provided.smtp_url,
        mail_from=settings.provided.mail_from,
        smtp_timeout=settings.provided.smtp_timeout_seconds,
        renderer=mail_renderer,
        resolvers=providers.Dict(
            dict.fromkeys([kind.value for kind in MailRequestKind], accounts.mail_resolver)
        ),
    )

    # The cross-module contracts the shared HTTP layer injects by id (and mail_locales).
    principal_resolver = auth.principal_resolver
    step_up = auth.step_up
