"""Wiring of the auth module."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from dependency_injector import containers, providers

from gatehouse.modules.auth.adapters.attempts import RedisAttemptLimiter
from gatehouse.modules.auth.adapters.jwt_tokens import JwtAccessTokens
from gatehouse.modules.auth.adapters.mfa_crypto import HmacCodeHasher, SegnoQrCodes
from gatehouse.modules.auth.adapters.refresh_tokens import HmacRefreshTokens
from gatehouse.modules.auth.adapters.repositories import SqlAlchemyAuthUnitOfWork
from gatehouse.modules.auth.adapters.secret_box import FernetSecretBox
from gatehouse.modules.auth.adapters.totp import PyotpCodes
from gatehouse.modules.auth.application.login import LoginHandler, SessionPolicy, TokenPairIssuer
from gatehouse.modules.auth.application.mfa import (
    BeginTotpHandler,
    ConfirmTotpHandler,
    DisableFactorHandler,
    EnableEmailFactorHandler,
    GetMfaStatusHandler,
    RegenerateBackupCodesHandler,
    SecondFactor,
    SendEmailCodeHandler,
)
from gatehouse.modules.auth.application.mfa_sign_in import VerifyMfaHandler
from gatehouse.modules.auth.application.principal import AccessTokenPrincipalResolver
from gatehouse.modules.auth.application.refresh import RefreshSessionHandler
from gatehouse.modules.auth.application.sessions import (
    EndAllSessionsHandler,
    EndSessionHandler,
    ListSessionsHandler,
    LogoutHandler,
)
from gatehouse.modules.auth.application.step_up import StepUpHandler
from gatehouse.modules.auth.domain.mfa import MfaMethod


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
    mfa_summary_factory: providers.Dependency[Any] = providers.Dependency()  # accounts'
    mail_caps: providers.Dependency[Any] = providers.Dependency()  # notifications'
    redis: providers.Dependency[Any] = providers.Dependency()
    mfa_keys: providers.Dependency[dict[int, bytes]] = providers.Dependency(instance_of=dict)
    mfa_issuer: providers.Dependency[str] = providers.Dependency(instance_of=str)

    tokens = providers.Singleton(JwtAccessTokens, key_ring, issuer=issuer, audience=audience)
    uow = providers.Factory(
        SqlAlchemyAuthUnitOfWork,
        session_factory,
        audit_factory,
        outbox_factory,
        mfa_summary_factory,
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

    # MFA.
    secret_box = providers.Singleton(FernetSecretBox, mfa_keys)
    code_hasher = providers.Singleton(HmacCodeHasher, mfa_keys)
    totp_codes = providers.Singleton(PyotpCodes)
    factor = providers.Singleton(SecondFactor, box=secret_box, totp=totp_codes, hasher=code_hasher)
    verify_mfa = providers.Singleton(VerifyMfaHandler, factor=factor, **_session_token_parts)
    step_up = providers.Singleton(
        StepUpHandler,
        accounts=accounts,
        uow=uow.provider,
        factor=factor,
        limiter=providers.Singleton(RedisAttemptLimiter, redis),
        clock=clock,
    )
    # Every MFA use case is built from the same parts (MfaHandler).
    _mfa_parts: ClassVar[dict[str, Any]] = {
        "uow": uow.provider,
        "accounts": accounts,
        "factor": factor,
        "box": secret_box,
        "totp": totp_codes,
        "hasher": code_hasher,
        "qr": providers.Singleton(SegnoQrCodes),
        "caps": mail_caps,
        "clock": clock,
        "issuer": mfa_issuer,
    }
    mfa_status = providers.Singleton(GetMfaStatusHandler, **_mfa_parts)
    begin_totp = providers.Singleton(BeginTotpHandler, **_mfa_parts)
    confirm_totp = providers.Singleton(ConfirmTotpHandler, **_mfa_parts)
    disable_totp = providers.Singleton(DisableFactorHandler, method=MfaMethod.TOTP, **_mfa_parts)
    enable_email_factor = providers.Singleton(EnableEmailFactorHandler, **_mfa_parts)
    disable_email_factor = providers.Singleton(
        DisableFactorHandler, method=MfaMethod.EMAIL, **_mfa_parts
    )
    regenerate_backup_codes = providers.Singleton(RegenerateBackupCodesHandler, **_mfa_parts)
    send_email_code = providers.Singleton(SendEmailCodeHandler, **_mfa_parts)
    refresh = providers.Singleton(
        RefreshSessionHandler, revocations=revocations, **_session_token_parts
    )
    principal_resolver = providers.Singleton(AccessTokenPrincipalResolver, tokens, revocations)
    list_sessions = providers.Singleton(ListSessionsHandler, uow.provider, clock)
    end_session = providers.Singleton(EndSessionHandler, uow.provider, revocations, clock)
    end_all_sessions = providers.Singleton(EndAllSessionsHandler, uow.provider, revocations, clock)
    logout = providers.Singleton(LogoutHandler, uow.provider, refresh_tokens, end_session)
