"""Wiring of the auth module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from dependency_injector import containers, providers

from gatehouse.modules.auth.adapters.jwt_tokens import JwtAccessTokens
from gatehouse.modules.auth.adapters.refresh_tokens import HmacRefreshTokens
from gatehouse.modules.auth.adapters.repositories import SqlAlchemyAuthUnitOfWork
from gatehouse.modules.auth.application.login import LoginHandler, SessionPolicy, TokenPairIssuer
from gatehouse.modules.auth.application.principal import AccessTokenPrincipalResolver
from gatehouse.modules.auth.application.refresh import RefreshSessionHandler
from gatehouse.modules.auth.application.sessions import (
    EndAllSessionsHandler,
    EndSessionHandler,
    ListSessionsHandler,
    LogoutHandler,
)


class AuthContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    session_factory: providers.Dependency[Any] = providers.Dependency()
    accounts: providers.Dependency[Any] = (
        providers.Dependency()
    )  # accounts.application.public.AccountDirectory
    key_ring: providers.Dependency[Any] = providers.Dependency()
    issuer: providers.Dependency[str] = providers.Dependency(instance_of=str)
    audience: providers.Dependency[str] = providers.Dependency(instance_of=str)
    access_ttl_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    idle_ttl_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    absolute_ttl_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    reuse_grace_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    refresh_token_key: providers.Dependency[bytes] = providers.Dependency(instance_of=bytes)
    allowed_origins: providers.Dependency[frozenset[str]] = providers.Dependency(
        instance_of=frozenset
    )
    # SessionRevocations (adapters.revocations), shared with accounts through main.
    revocations: providers.Dependency[Any] = providers.Dependency()
    audit_factory: providers.Dependency[Any] = providers.Dependency()
    outbox_factory: providers.Dependency[Any] = providers.Dependency()

    tokens = providers.Singleton(JwtAccessTokens, key_ring, issuer=issuer, audience=audience)
    uow = providers.Factory(
        SqlAlchemyAuthUnitOfWork, session_factory, audit_factory, outbox_factory
    )
    session_policy = providers.Singleton(
        SessionPolicy,
        access_ttl=providers.Factory(timedelta, seconds=access_ttl_seconds),
        idle_ttl=providers.Factory(timedelta, seconds=idle_ttl_seconds),
        absolute_ttl=providers.Factory(timedelta, seconds=absolute_ttl_seconds),
        reuse_grace=providers.Factory(timedelta, seconds=reuse_grace_seconds),
    )
    refresh_tokens = providers.Singleton(HmacRefreshTokens, refresh_token_key)
    pairs = providers.Singleton(TokenPairIssuer, tokens, refresh_tokens, session_policy)
    # Login and refresh are built from the same parts (SessionTokenHandler).
    _session_token_parts: ClassVar[dict[str, Any]] = {
        "accounts": accounts,
        "uow": uow.provider,
        "tokens": refresh_tokens,
        "pairs": pairs,
        "clock": clock,
        "policy": session_policy,
    }
    login = providers.Singleton(LoginHandler, **_session_token_parts)
    refresh = providers.Singleton(
        RefreshSessionHandler, revocations=revocations, **_session_token_parts
    )
    principal_resolver = providers.Singleton(AccessTokenPrincipalResolver, tokens, revocations)
    list_sessions = providers.Singleton(ListSessionsHandler, uow.provider, clock)
    end_session = providers.Singleton(EndSessionHandler, uow.provider, revocations, clock)
    end_all_sessions = providers.Singleton(EndAllSessionsHandler, uow.provider, revocations, clock)
    logout = providers.Singleton(LogoutHandler, uow.provider, refresh_tokens, end_session)
