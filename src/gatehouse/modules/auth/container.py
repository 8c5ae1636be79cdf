"""Wiring of the auth module: its inputs are declared, main provides them.

Exports ``principal_resolver`` and ``step_up`` (the shared HTTP layer's contracts),
``revocations`` (the lifespan runs its sync) and ``subscriptions`` (its handlers of accounts'
credential events and of its own ended sessions).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from gatehouse.modules.auth.adapters.events import auth_subscriptions
from gatehouse.modules.auth.adapters.jwt_tokens import JwtAccessTokens
from gatehouse.modules.auth.adapters.keys import KeyRingSource
from gatehouse.modules.auth.adapters.lockout import RedisLockout
from gatehouse.modules.auth.adapters.mfa_crypto import HmacCodeHasher, SegnoQrCodes
from gatehouse.modules.auth.adapters.oidc import OidcIdentityProviders
from gatehouse.modules.auth.adapters.rate_limits import LimitsRateLimiter, parse_rate_limits
from gatehouse.modules.auth.adapters.refresh_tokens import HmacRefreshTokens
from gatehouse.modules.auth.adapters.repositories import SqlAlchemyAuthUnitOfWork
from gatehouse.modules.auth.adapters.revocations import RedisSessionRevocations
from gatehouse.modules.auth.adapters.rotations import AsyncpgRefreshRotations
from gatehouse.modules.auth.adapters.secret_box import FernetSecretBox
from gatehouse.modules.auth.adapters.social_store import RedisSocialSignInStore
from gatehouse.modules.auth.adapters.totp import PyotpCodes
from gatehouse.modules.auth.application.email_codes import SendEmailCodeHandler
from gatehouse.modules.auth.application.factor_management import (
    BeginTotpHandler,
    ConfirmTotpHandler,
    DisableFactorHandler,
    EnableEmailFactorHandler,
    FactorChanges,
    GetMfaStatusHandler,
    RegenerateBackupCodesHandler,
)
from gatehouse.modules.auth.application.mfa_sign_in import VerifyMfaHandler
from gatehouse.modules.auth.application.principal import AccessTokenPrincipalResolver
from gatehouse.modules.auth.application.refresh import RefreshSessionHandler
from gatehouse.modules.auth.application.second_factors import SecondFactor
from gatehouse.modules.auth.application.sessions import (
    EndAllSessionsHandler,
    EndSessionHandler,
    ListSessionsHandler,
    LogoutHandler,
)
from gatehouse.modules.auth.application.signing_in import (
    ChallengeOpener,
    LoginHandler,
    SessionPolicy,
    SessionStarter,
    SignInCompletion,
    TokenPairIssuer,
)
from gatehouse.modules.auth.application.social import (
    BeginSocialSignInHandler,
    ExchangeLoginCodeHandler,
    FinishSocialSignInHandler,
    SocialSettings,
)
from gatehouse.modules.auth.application.step_up import StepUpHandler
from gatehouse.modules.auth.application.user_status import GetUserStatusHandler
from gatehouse.modules.auth.domain.lockout import LockoutPolicy
from gatehouse.modules.auth.domain.mfa import MfaMethod


def _seconds(seconds: int) -> timedelta:
    return timedelta(seconds=seconds)


def _revocation_window(access_ttl_seconds: int) -> int:
    """Access tokens live this long (plus the verifier's leeway): older ones are refused anyway."""
    return access_ttl_seconds + 60


class AuthContainer(containers.DeclarativeContainer):
    clock: providers.Dependency[Any] = providers.Dependency()
    session_factory: providers.Dependency[Any] = providers.Dependency()
    read_pool: providers.Dependency[Any] = providers.Dependency()
    redis: providers.Dependency[Any] = providers.Dependency()
    redis_health: providers.Dependency[Any] = providers.Dependency()  # shared.RedisHealth
    redis_server: providers.Dependency[Any] = providers.Dependency()  # shared.RedisServer
    events: providers.Dependency[Any] = providers.Dependency()  # EventHandlers, from main
    accounts: providers.Dependency[Any] = providers.Dependency()  # accounts' AccountDirectory
    mail_caps: providers.Dependency[Any] = providers.Dependency()  # notifications' MailCaps
    keys_dir: providers.Dependency[Any] = providers.Dependency()  # a Path
    create_keys: providers.Dependency[bool] = providers.Dependency(instance_of=bool)  # in dev
    key_rotation: providers.Dependency[Any] = providers.Dependency()  # a KeyRotationPolicy
    keys_reload_seconds: providers.Dependency[float] = providers.Dependency()
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
    # Cookie mode's cookies carry Secure (false only in development over plain http).
    cookie_secure: providers.Dependency[bool] = providers.Dependency(instance_of=bool)
    mfa_keys: providers.Dependency[dict[int, bytes]] = providers.Dependency(instance_of=dict)
    mfa_issuer: providers.Dependency[str] = providers.Dependency(instance_of=str)
    lockout_free_attempts: providers.Dependency[int] = providers.Dependency(instance_of=int)
    lockout_first_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    lockout_max_seconds: providers.Dependency[int] = providers.Dependency(instance_of=int)
    lockout_failures_per_hour: providers.Dependency[int] = providers.Dependency(instance_of=int)
    rate_limit_policies: providers.Dependency[dict[str, str]] = providers.Dependency(
        instance_of=dict
    )  # policy name -> "20/minute"
    # Social login: accounts' side (which account an identity signs in to), the providers,
    # and where a sign-in may send the browser back to.
    identities: providers.Dependency[Any] = providers.Dependency()  # ExternalIdentities
    oidc_providers: providers.Dependency[tuple[Any, ...]] = providers.Dependency(
        instance_of=tuple
    )  # OidcProviderConfig, one per GATEHOUSE_OIDC_PROVIDERS entry
    oidc_timeout_seconds: providers.Dependency[float] = providers.Dependency(instance_of=float)
    public_url: providers.Dependency[str] = providers.Dependency(instance_of=str)
    oauth_redirect_urls: providers.Dependency[tuple[str, ...]] = providers.Dependency(
        instance_of=tuple
    )

    key_ring = providers.Singleton(
        KeyRingSource,
        keys_dir,
        create_if_missing=create_keys,
        policy=key_rotation,
        clock=clock,
        reload_seconds=keys_reload_seconds,
    )
    revocations = providers.Singleton(
        RedisSessionRevocations,
        redis,
        read_pool,
        health=redis_health,
        server=redis_server,
        window_seconds=providers.Callable(_revocation_window, access_ttl_seconds),
    )
    subscriptions = providers.Singleton(auth_subscriptions, clock, revocations)
    # For every module's routes (``shared.http.rate_limits``): the limiter and the policies.
    rate_limiter = providers.Singleton(LimitsRateLimiter, redis, redis_health)
    rate_limits = providers.Singleton(parse_rate_limits, rate_limit_policies)
    uow = providers.Factory(SqlAlchemyAuthUnitOfWork, session_factory, events)
    tokens = providers.Singleton(JwtAccessTokens, key_ring, issuer=issuer, audience=audience)
    session_policy = providers.Singleton(
        SessionPolicy,
        access_ttl=providers.Callable(_seconds, access_ttl_seconds),
        idle_ttl=providers.Callable(_seconds, idle_ttl_seconds),
        absolute_ttl=providers.Callable(_seconds, absolute_ttl_seconds),
        reuse_grace=providers.Callable(_seconds, reuse_grace_seconds),
    )
    refresh_tokens = providers.Singleton(HmacRefreshTokens, refresh_token_key)
    pairs = providers.Singleton(TokenPairIssuer, tokens, refresh_tokens, session_policy)
    principal_resolver = providers.Singleton(AccessTokenPrincipalResolver, tokens, revocations)

    # Signing in: every password or code checked counts against the account and the client.
    lockout_policy = providers.Singleton(
        LockoutPolicy,
        free=lockout_free_attempts,
        first_lock=providers.Callable(_seconds, lockout_first_seconds),
        max_lock=providers.Callable(_seconds, lockout_max_seconds),
    )
    lockout = providers.Singleton(
        RedisLockout,
        redis,
        redis_health,
        refresh_token_key,
        clock,
        policy=lockout_policy,
        failures_per_hour=lockout_failures_per_hour,
    )
    starter = providers.Singleton(SessionStarter, refresh_tokens, session_policy)
    challenges = providers.Singleton(ChallengeOpener)
    completion = providers.Singleton(
        SignInCompletion, starter=starter, challenges=challenges, pairs=pairs
    )
    login = providers.Singleton(
        LoginHandler,
        accounts=accounts,
        uow=uow.provider,
        completion=completion,
        lockout=lockout,
        clock=clock,
    )

    # Second factors.
    secret_box = providers.Singleton(FernetSecretBox, mfa_keys)
    code_hasher = providers.Singleton(HmacCodeHasher, mfa_keys)
    totp_codes = providers.Singleton(PyotpCodes)
    factor = providers.Singleton(SecondFactor, box=secret_box, totp=totp_codes, hasher=code_hasher)
    verify_mfa = providers.Singleton(
        VerifyMfaHandler,
        accounts=accounts,
        uow=uow.provider,
        factor=factor,
        starter=starter,
        pairs=pairs,
        lockout=lockout,
        clock=clock,
    )
    step_up = providers.Singleton(
        StepUpHandler,
        accounts=accounts,
        uow=uow.provider,
        factor=factor,
        lockout=lockout,
        clock=clock,
    )

    # Factor management.
    factor_changes = providers.Singleton(
        FactorChanges, accounts=accounts, hasher=code_hasher, clock=clock
    )
    qr = providers.Singleton(SegnoQrCodes)
    mfa_status = providers.Singleton(GetMfaStatusHandler, uow=uow.provider, clock=clock)
    begin_totp = providers.Singleton(
        BeginTotpHandler,
        uow=uow.provider,
        changes=factor_changes,
        box=secret_box,
        totp=totp_codes,
        qr=qr,
        clock=clock,
        issuer=mfa_issuer,
    )
    confirm_totp = providers.Singleton(
        ConfirmTotpHandler,
        uow=uow.provider,
        changes=factor_changes,
        factor=factor,
        totp=totp_codes,
        clock=clock,
    )
    disable_totp = providers.Singleton(
        DisableFactorHandler, uow=uow.provider, changes=factor_changes, method=MfaMethod.TOTP
    )
    enable_email_factor = providers.Singleton(
        EnableEmailFactorHandler, uow=uow.provider, changes=factor_changes, clock=clock
    )
    disable_email_factor = providers.Singleton(
        DisableFactorHandler, uow=uow.provider, changes=factor_changes, method=MfaMethod.EMAIL
    )
    regenerate_backup_codes = providers.Singleton(
        RegenerateBackupCodesHandler, uow=uow.provider, changes=factor_changes
    )
    send_email_code = providers.Singleton(
        SendEmailCodeHandler,
        uow=uow.provider,
        changes=factor_changes,
        hasher=code_hasher,
        caps=mail_caps,
        clock=clock,
    )

    # Refresh and sessions.
    rotations = providers.Singleton(AsyncpgRefreshRotations, read_pool)
    refresh = providers.Singleton(
        RefreshSessionHandler,
        accounts=accounts,
        uow=uow.provider,
        rotations=rotations,
        tokens=refresh_tokens,
        pairs=pairs,
        clock=clock,
        policy=session_policy,
    )
    list_sessions = providers.Singleton(ListSessionsHandler, uow=uow.provider, clock=clock)
    end_session = providers.Singleton(EndSessionHandler, uow=uow.provider, clock=clock)
    end_all_sessions = providers.Singleton(EndAllSessionsHandler, uow=uow.provider, clock=clock)
    user_status = providers.Singleton(
        GetUserStatusHandler, accounts=accounts, uow=uow.provider, clock=clock
    )
    logout = providers.Singleton(
        LogoutHandler, uow=uow.provider, tokens=refresh_tokens, end=end_session
    )

    # Social login.
    identity_providers = providers.Singleton(
        OidcIdentityProviders, oidc_providers, clock=clock, timeout=oidc_timeout_seconds
    )
    social_store = providers.Singleton(RedisSocialSignInStore, redis, redis_health)
    social_settings = providers.Singleton(
        SocialSettings,
        public_url=public_url,
        redirect_urls=providers.Callable(frozenset, oauth_redirect_urls),
    )
    begin_social = providers.Singleton(
        BeginSocialSignInHandler,
        providers=identity_providers,
        store=social_store,
        settings=social_settings,
    )
    finish_social = providers.Singleton(
        FinishSocialSignInHandler,
        providers=identity_providers,
        store=social_store,
        identities=identities,
        settings=social_settings,
    )
    exchange_login_code = providers.Singleton(
        ExchangeLoginCodeHandler,
        accounts=accounts,
        store=social_store,
        uow=uow.provider,
        completion=completion,
        clock=clock,
    )
