"""Settings: read from ``GATEHOUSE_*`` environment variables (and ``.env``) once, in ``main``.

Modules never read settings themselves: ``main`` hands each one the plain values it needs.
The variable names are the HTTP contract's (flat, e.g. ``GATEHOUSE_DATABASE_URL``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import limits
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gatehouse.main.redis_client import check_redis_url
from gatehouse.main.webhook_settings import WebhookSetting, check_webhooks, is_loopback
from gatehouse.modules.auth.adapters.jwt_tokens import LEEWAY_SECONDS
from gatehouse.modules.auth.adapters.keys import RotationPolicy

CommaList = Annotated[tuple[str, ...], NoDecode]

GOOGLE_ISSUER = "https://accounts.google.com"


class OidcProviderSetting(BaseModel):
    """One entry of ``GATEHOUSE_OIDC_PROVIDERS``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")  # the {provider} path segment
    issuer: str | None = None  # google's may be left out
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: SecretStr
    scopes: tuple[str, ...] = ("openid", "email", "profile")

    @model_validator(mode="after")
    def _checked(self) -> OidcProviderSetting:
        if self.issuer is None:
            if self.name != "google":
                msg = f"GATEHOUSE_OIDC_PROVIDERS: {self.name!r} needs an issuer"
                raise ValueError(msg)
            object.__setattr__(self, "issuer", GOOGLE_ISSUER)
        parts = urlsplit(self.resolved_issuer)
        secure = parts.scheme == "https" or (
            parts.scheme == "http" and is_loopback(parts.hostname or "")
        )
        if not secure or not parts.hostname or parts.query or parts.fragment:
            msg = (
                f"GATEHOUSE_OIDC_PROVIDERS: {self.name!r} has issuer {self.resolved_issuer!r};"
                " an issuer is an https:// URL (http:// only on a loopback host), without"
                " query or fragment"
            )
            raise ValueError(msg)
        if "openid" not in self.scopes:
            msg = f"GATEHOUSE_OIDC_PROVIDERS: {self.name!r}'s scopes must include openid"
            raise ValueError(msg)
        return self

    @property
    def resolved_issuer(self) -> str:
        return self.issuer or GOOGLE_ISSUER


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEHOUSE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    env: Literal["dev", "test", "production"] = "dev"

    # Infrastructure. Unset URLs mean "start an embedded server under data_dir".
    database_url: str | None = None
    # Migrations and the outbox's LISTEN bypass a pooler: a direct URL (database_url if unset).
    database_direct_url: str | None = None
    # database_url is PgBouncer in transaction mode: no server-side prepared statements kept.
    database_pgbouncer: bool = False
    redis_url: str | None = None  # redis://, rediss://, unix:// or redis+sentinel://
    data_dir: Path = Path(".data")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    # How long to wait for PostgreSQL (ADR 0026): a new connection, a free pooled connection,
    # each statement. A database operation fails as 503 within pool + max(connect, statement).
    db_connect_timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    db_pool_timeout_seconds: float = Field(default=1.0, gt=0, le=60)
    db_statement_timeout_seconds: float = Field(default=1.5, gt=0, le=600)
    # Each Redis command (and connecting); one quick retry, then the documented fallback.
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=30)
    # SIGTERM: how long `serve` lets requests in flight finish, and a worker a mail being sent.
    shutdown_grace_seconds: int = Field(default=10, ge=0, le=600)

    # HTTP.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    public_url: str = "http://127.0.0.1:8000"
    cors_origins: CommaList = ()
    trusted_proxies: CommaList = ()
    hsts: bool = False
    # Cookie mode's cookies carry Secure. Development only: false lets a browser keep them over
    # plain http on a host other than localhost (refused in production).
    cookie_secure: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True

    # Monitoring (off unless configured): Sentry error reports and OpenTelemetry traces.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = None  # defaults to ``env``
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    # None: traces go out when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (and OTEL_SDK_DISABLED
    # is not true); true: always (to the OTLP default, localhost:4318); false: never.
    otel_enabled: bool | None = None

    # Mail.
    smtp_url: str | None = None
    mail_from: str = "Gatehouse <no-reply@localhost>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    dispatch_in_serve: bool = True
    outbox_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    outbox_concurrency: int = Field(default=4, ge=1, le=32)  # messages in flight per outbox

    # Accounts.
    require_verified_email: bool = True
    # Routes that need the admin role also need a sign-in with a second factor (amr "mfa").
    admin_requires_mfa: bool = True
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    hash_concurrency: int = Field(default=0, ge=0, le=64)  # 0 = number of CPU cores
    hash_queue_limit: int = Field(default=64, ge=1)
    password_peppers: SecretStr | None = None  # "VERSION:SECRET[,VERSION:SECRET...]"
    verification_token_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    password_reset_token_ttl_seconds: int = Field(default=30 * 60, ge=60, le=24 * 3600)

    # Organizations: the page of the client application where a signed-in user accepts an
    # invitation (mails link to it with ``?token=``); ``<public_url>/accept-invitation`` if unset.
    invitation_url: str | None = None

    # Tokens.
    jwt_audience: str = "gatehouse"
    keys_dir: Path | None = None  # PEM signing keys; defaults to <data_dir>/keys in dev
    # How often each process re-reads keys_dir; a new key signs after twice this.
    keys_reload_seconds: int = Field(default=60, ge=0, le=3600)
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=24 * 3600)
    refresh_idle_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    refresh_absolute_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    refresh_reuse_grace_seconds: int = Field(default=10, ge=0, le=300)
    refresh_token_key: SecretStr | None = None  # HMAC key deriving each child refresh token
    # How often some process copies recent revocations from PostgreSQL to Redis again.
    revocation_sync_seconds: float = Field(default=5.0, gt=0, le=60)

    # Rate limits per client IP, in the limits package's notation ("20/minute", "150 per 5
    # minutes"); the contract's values by default.
    rate_limit_login: str = "20/minute"  # POST /auth/login; /auth/token's password grant
    rate_limit_register: str = "10/hour"
    rate_limit_refresh: str = "150/5 minutes"  # POST /auth/refresh; the refresh_token grant
    rate_limit_mail_request: str = "30/hour"  # forgot password, resend verification
    # A mailed token or code is checked (verify email, reset password); not a secret.
    rate_limit_token_check: str = "60/10 minutes"  # noqa: S105
    rate_limit_mfa: str = "30/5 minutes"  # POST /auth/mfa/verify, /auth/mfa/email

    # Social login: the OpenID providers (a JSON list) and where a sign-in may return to.
    oidc_providers: tuple[OidcProviderSetting, ...] = ()
    oauth_redirect_urls: CommaList = ()
    oidc_timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    # Webhooks: security events, signed, to these endpoints (a JSON list); each attempt's limit.
    webhooks: tuple[WebhookSetting, ...] = ()
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    # MFA.
    # "VERSION:SECRET[,VERSION:SECRET...]": seals TOTP secrets and keys the hashes of codes.
    mfa_encryption_keys: SecretStr | None = None
    mfa_issuer: str = Field(default="Gatehouse", min_length=1, max_length=64)  # in the app

    # Lockout after failed passwords and codes, per account and per client IP: this many go
    # through, then each further attempt waits, from the first lock doubling up to the longest;
    # and at most so many failures an hour per account. The contract's values by default.
    lockout_free_attempts: int = Field(default=5, ge=1)
    lockout_first_seconds: int = Field(default=60, ge=1, le=3600)
    lockout_max_seconds: int = Field(default=15 * 60, ge=1, le=24 * 3600)
    lockout_failures_per_hour: int = Field(default=100, ge=1)

    @field_validator(
        "rate_limit_login",
        "rate_limit_register",
        "rate_limit_refresh",
        "rate_limit_mail_request",
        "rate_limit_token_check",
        "rate_limit_mfa",
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            msg = f'not a rate limit: {value!r} (write it like "20/minute" or "150 per 5 minutes")'
            raise ValueError(msg) from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value:  # empty: unset, the embedded Redis
            check_redis_url(value)
        return value

    @field_validator("cors_origins", "trusted_proxies", "oauth_redirect_urls", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("sentry_dsn")
    @classmethod
    def _sentry_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        from sentry_sdk.utils import BadDsn, Dsn  # noqa: PLC0415 - only when monitoring is on

        try:
            Dsn(value.get_secret_value())
        except BadDsn:
            msg = "GATEHOUSE_SENTRY_DSN is not a Sentry DSN (https://KEY@HOST/PROJECT)"
            raise ValueError(msg) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            msg = "GATEHOUSE_PUBLIC_URL must start with http:// or https://"
            raise ValueError(msg)
        return value.rstrip("/")

    @field_validator("invitation_url")
    @classmethod
    def _absolute_invitation_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.fragment:
                msg = "GATEHOUSE_INVITATION_URL must be an absolute http(s) URL without a fragment"
                raise ValueError(msg)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if "*" in value:
            msg = "GATEHOUSE_CORS_ORIGINS must list origins; '*' is refused (credentials are sent)"
            raise ValueError(msg)
        return value

    @field_validator("oidc_providers")
    @classmethod
    def _unique_provider_names(
        cls, value: tuple[OidcProviderSetting, ...]
    ) -> tuple[OidcProviderSetting, ...]:
        names = [provider.name for provider in value]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            msg = f"GATEHOUSE_OIDC_PROVIDERS names a provider twice: {', '.join(twice)}"
            raise ValueError(msg)
        return value

    @field_validator("oauth_redirect_urls")
    @classmethod
    def _absolute_redirects(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for url in value:
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.fragment:
                msg = (
                    f"GATEHOUSE_OAUTH_REDIRECT_URLS: {url!r} is not an absolute http(s) URL"
                    " without a fragment"
                )
                raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _refresh_lifetimes(self) -> Settings:
        if self.refresh_idle_ttl_seconds > self.refresh_absolute_ttl_seconds:
            msg = "refresh idle lifetime cannot exceed the absolute lifetime"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _lockout_waits(self) -> Settings:
        if self.lockout_first_seconds > self.lockout_max_seconds:
            msg = "the lockout's first wait cannot exceed its longest"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _webhook_endpoints(self) -> Settings:
        check_webhooks(self.webhooks, production=self.env == "production")
        return self

    @model_validator(mode="after")
    def _secure_cookies_in_production(self) -> Settings:
        if self.env == "production" and not self.cookie_secure:
            msg = (
                "GATEHOUSE_COOKIE_SECURE=false is for development over plain http only;"
                " production cookies are always Secure"
            )
            raise ValueError(msg)
        return self

    @property
    def is_dev(self) -> bool:
        return self.env != "production"

    @property
    def key_rotation(self) -> RotationPolicy:
        return RotationPolicy(
            activation_delay=timedelta(seconds=2 * self.keys_reload_seconds),
            token_lifetime=timedelta(seconds=self.access_token_ttl_seconds + LEEWAY_SECONDS),
        )

    @property
    def direct_database_url(self) -> str | None:
        """Where migrations and ``LISTEN`` connect: around a pooler, straight to PostgreSQL."""
        return self.database_direct_url or self.database_url

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def resolved_invitation_url(self) -> str:
        return self.invitation_url or f"{self.public_url}/accept-invitation"

    @property
    def issuer(self) -> str:
        return self.public_url

    @property
    def browser_origins(self) -> frozenset[str]:
        """Origins whose pages may use cookie mode: the CORS list and our own public origin."""
        parts = self.public_url.split("/")
        return frozenset({*self.cors_origins, "/".join(parts[:3])})

    @property
    def send_hsts(self) -> bool:
        return self.hsts or self.public_url.startswith("https://")
