"""The root container: infrastructure singletons, then each module's container."""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

import redis.asyncio as redis
from dependency_injector import containers, providers
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from gatehouse.main.modules import MODULES
from gatehouse.main.redis_client import redis_client
from gatehouse.main.secrets import load_mfa_keys, load_peppers, load_refresh_token_key
from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.audit.container import AuditContainer
from gatehouse.modules.auth.container import AuthContainer
from gatehouse.modules.notifications.container import NotificationsContainer
from gatehouse.shared.clock import SystemClock
from gatehouse.shared.db_outage import harden_engine
from gatehouse.shared.messagebus import EventHandlers
from gatehouse.shared.pg import DatabaseTimeouts, ReadPool, asyncpg_dsn
from gatehouse.shared.redis_health import RedisHealth, RedisServer


def database_timeouts(settings: Settings) -> DatabaseTimeouts:
    return DatabaseTimeouts(
        connect=settings.db_connect_timeout_seconds,
        pool=settings.db_pool_timeout_seconds,
        statement=settings.db_statement_timeout_seconds,
    )


def _unnamed_statement() -> str:
    return ""


def _pgbouncer_arguments(settings: Settings) -> dict[str, Any]:
    """Behind PgBouncer in transaction mode, each transaction may run on another server
    connection, where a named prepared statement of ours is missing, or another client's has
    the same name. So: no statement caches (asyncpg's and SQLAlchemy's) and SQLAlchemy's
    statements unnamed (asyncpg re-parses an unnamed one in the transaction that runs it, and
    nothing is left behind on the server connection). ADR 0028."""
    if not settings.database_pgbouncer:
        return {}
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unnamed_statement,
    }


def _engine(settings: Settings) -> AsyncEngine:
    assert settings.database_url is not None, "resolve the database URL before building the app"
    timeouts = database_timeouts(settings)
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_timeout=timeouts.pool,
        pool_pre_ping=True,
        connect_args={
            "timeout": timeouts.connect,
            "command_timeout": timeouts.statement,
            "server_settings": {"application_name": "gatehouse"},
            **_pgbouncer_arguments(settings),
        },
    )
    harden_engine(engine)
    return engine


def _read_pool(settings: Settings) -> ReadPool:
    assert settings.database_url is not None
    return ReadPool(
        asyncpg_dsn(settings.database_url),
        max_size=settings.db_pool_size,
        timeouts=database_timeouts(settings),
        statement_cache_size=0 if settings.database_pgbouncer else 256,
    )


def _listen_dsn(settings: Settings) -> str:
    assert settings.direct_database_url is not None
    return asyncpg_dsn(settings.direct_database_url)


def _redis(settings: Settings, server: RedisServer) -> redis.Redis:
    assert settings.redis_url is not None, "resolve the Redis URL before building the app"
    return redis_client(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_seconds,
        socket_connect_timeout=settings.redis_timeout_seconds,
        health_check_interval=30,
        # Each new connection learns its server's run_id (the denylist's marker names it).
        redis_connect_func=server.on_connect,
        # One quick retry on a broken connection (a restarted Redis), none after a timeout (a
        # frozen one would time out again): Redis down or frozen costs a call one timeout,
        # then the caller's fallback applies (ADR 0026), not redis-py's backoff of seconds.
        retry=Retry(
            ExponentialWithJitterBackoff(base=0.01, cap=0.05),
            retries=1,
            supported_errors=(RedisConnectionError,),
        ),
    )


def _roles_needing_mfa(settings: Settings) -> frozenset[str]:
    """Roles whose routes also need a sign-in with a second factor (``RequireRole``)."""
    return frozenset({"admin"}) if settings.admin_requires_mfa else frozenset()


def _hash_concurrency(settings: Settings) -> int:
    return settings.hash_concurrency or len(os.sched_getaffinity(0)) or 1


class ApplicationContainer(containers.DeclarativeContainer):
    """Infrastructure and the event handlers; ``build_container`` connects the modules."""

    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    engine = providers.Singleton(_engine, settings)
    session_factory = providers.Singleton(async_sessionmaker, engine, expire_on_commit=False)
    read_pool = providers.Singleton(_read_pool, settings)
    # The outbox dispatchers' LISTEN: a session of its own, so never through a pooler.
    listen_dsn = providers.Callable(_listen_dsn, settings)
    # What the process knows of Redis: which server it reaches, and whether it answers (one
    # state for every adapter, so an outage costs one timeout, not one per adapter).
    redis_server = providers.Singleton(RedisServer)
    redis = providers.Singleton(_redis, settings, redis_server)
    redis_health = providers.Singleton(RedisHealth)
    hash_concurrency = providers.Callable(_hash_concurrency, settings)
    peppers = providers.Singleton(load_peppers, settings)
    refresh_token_key = providers.Singleton(load_refresh_token_key, settings)
    mfa_keys = providers.Singleton(load_mfa_keys, settings)
    roles_needing_mfa = providers.Callable(_roles_needing_mfa, settings)
    # Every module's subscriptions, joined by the event handlers (``build_container``).
    subscriptions = providers.List()
    events = providers.Singleton(EventHandlers.of, subscriptions)

    # Set by ``build_container`` from ``MODULES``; declared here for the type checker only.
    audit: providers.Container[AuditContainer]
    notifications: providers.Container[NotificationsContainer]
    accounts: providers.Container[AccountsContainer]
    auth: providers.Container[AuthContainer]


def build_container(settings: Settings) -> ApplicationContainer:
    """The root container with every module of ``MODULES`` connected, in order: each module's
    container, its subscriptions on the event handlers, its exports under root ids and what it
    registers into other modules' extension points.

    The modules are connected on a fresh subclass, so wiring (which maps the instance's
    providers onto its class's) sees them as declared, and builds never share providers.
    """

    class Root(ApplicationContainer):
        subscriptions = providers.List()
        events = providers.Singleton(EventHandlers.of, subscriptions)

    for module in MODULES:
        module_container = module.connect(Root)
        setattr(Root, module.name, module_container)
        Root.subscriptions.add_args(module_container.subscriptions)
        for root_id, module_id in module.exports.items():
            setattr(Root, root_id, getattr(module_container, module_id))
        if module.register is not None:
            module.register(Root)
    container = Root(settings=settings)
    container.check_dependencies()
    return container


class UnresolvedProvider(LookupError):
    """A ``Provide["..."]`` id that names no provider of the container."""


def _markers(function: Callable[..., object]) -> Iterator[str]:
    """The string ids of the ``Provide`` markers in a function's parameters (as defaults, or
    inside FastAPI's ``Depends`` and ``Annotated``), read off the function ``@inject`` wrapped
    (the signature it shows FastAPI leaves them out)."""
    function = inspect.unwrap(function)
    try:
        signature = inspect.signature(function, eval_str=True)  # postponed annotations too
    except NameError:  # an annotation naming what only type checkers import
        signature = inspect.signature(function)
    parameters = signature.parameters.values()
    for parameter in parameters:
        candidates = [parameter.default, *getattr(parameter.annotation, "__metadata__", ())]
        for candidate in candidates:
            marker = getattr(candidate, "dependency", candidate)
            if getattr(marker, "__IS_MARKER__", False) is not True:
                continue
            provider_id = getattr(marker, "provider", None)
            if isinstance(provider_id, str):
                yield provider_id


def check_wiring(container: containers.Container, modules: Iterable[ModuleType | str]) -> None:
    """Refuse to start when a wired function asks for an id the container does not have,
    naming it (dependency-injector would otherwise hand the function the marker itself)."""
    for module in modules:
        loaded = importlib.import_module(module) if isinstance(module, str) else module
        for name, member in vars(loaded).items():
            if not inspect.isfunction(member):
                continue
            for provider_id in _markers(member):
                target: object = container
                try:
                    for part in provider_id.split("."):
                        target = getattr(target, part)
                except AttributeError:
                    msg = (
                        f'Provide["{provider_id}"] in {loaded.__name__}.{name} names no provider'
                        " of the container"
                    )
                    raise UnresolvedProvider(msg) from None
