"""The one list a new module appends to: one record per module, in dependency order.

A record says how main connects the module's container to the infrastructure and to the
modules before it (``connect``), what it exports under a root id for the shared HTTP layer
(``exports``), what it plugs into another module's extension point (``register``), and its
routers, mappers and tables. Adding a module is appending its record; main's other files name
a module only for what is that module's own (the lifespan's outbox dispatcher and revocation
sync, the CLI's worker and create-admin).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from dependency_injector import providers
from fastapi import APIRouter

from gatehouse.main.secrets import load_webhook_endpoints
from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.adapters import orm as accounts_orm
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.entrypoints.http import admin as accounts_admin
from gatehouse.modules.accounts.entrypoints.http import identities as accounts_identities
from gatehouse.modules.accounts.entrypoints.http import pages as accounts_pages
from gatehouse.modules.accounts.entrypoints.http import router as accounts_http
from gatehouse.modules.audit.adapters import orm as audit_orm
from gatehouse.modules.audit.container import AuditContainer
from gatehouse.modules.audit.entrypoints.http import router as audit_http
from gatehouse.modules.auth.adapters import orm as auth_orm
from gatehouse.modules.auth.adapters.oidc import OidcProviderConfig
from gatehouse.modules.auth.container import AuthContainer
from gatehouse.modules.auth.entrypoints.http import admin as auth_admin
from gatehouse.modules.auth.entrypoints.http import mfa as auth_mfa
from gatehouse.modules.auth.entrypoints.http import oauth as auth_oauth
from gatehouse.modules.auth.entrypoints.http import router as auth_http
from gatehouse.modules.auth.entrypoints.http import social as auth_social
from gatehouse.modules.notifications.adapters import orm as notifications_orm
from gatehouse.modules.notifications.container import (
    NotificationsContainer,
    register_mail_templates,
    register_resolver,
)
from gatehouse.modules.organizations.adapters import orm as organizations_orm
from gatehouse.modules.organizations.container import MAIL_TEMPLATES as ORGANIZATIONS_MAIL
from gatehouse.modules.organizations.container import OrganizationsContainer
from gatehouse.modules.organizations.entrypoints.http import router as organizations_http

# The root container class while its modules are connected (``connect``, ``register``). Its
# module attributes are set at run time, so mypy cannot see them; the providers they hold are
# untyped (``Provider[Any]``) anyway.
Root = Any


@dataclass(frozen=True)
class Module:
    name: str  # the root container's attribute, and the prefix of its ``Provide`` ids
    connect: Callable[[Root], providers.Container[Any]]
    routers: tuple[APIRouter, ...] = ()
    wired: tuple[ModuleType, ...] = ()  # modules whose functions use ``Provide[...]``
    tables: ModuleType | None = None  # imported for its tables, so metadata knows them
    start_mappers: Callable[[], None] | None = None
    exports: Mapping[str, str] = field(default_factory=dict)  # root id -> the module's id
    # Into other modules' extension points, as providers, before the container is built.
    register: Callable[[Root], None] | None = None
    # Providers built when the app is created, so a missing key or a weak pepper refuses to
    # start with its own message instead of failing inside the server's lifespan.
    eager: tuple[str, ...] = ()


def _audit(root: Root) -> providers.Container[Any]:
    return providers.Container(AuditContainer, clock=root.clock, read_pool=root.read_pool)


def _notifications(root: Root) -> providers.Container[Any]:
    settings = root.settings
    return providers.Container(
        NotificationsContainer,
        clock=root.clock,
        engine=root.engine,
        redis=root.redis,
        redis_health=root.redis_health,
        listen_dsn=root.listen_dsn,
        smtp_url=settings.provided.smtp_url,
        mail_from=settings.provided.mail_from,
        smtp_timeout=settings.provided.smtp_timeout_seconds,
        concurrency=settings.provided.outbox_concurrency,
        public_url=settings.provided.public_url,
        sealing_keys=root.mfa_keys,
        webhook_endpoints=providers.Singleton(load_webhook_endpoints, root.settings),
        webhook_timeout=settings.provided.webhook_timeout_seconds,
    )


def _accounts(root: Root) -> providers.Container[Any]:
    settings = root.settings
    return providers.Container(
        AccountsContainer,
        clock=root.clock,
        session_factory=root.session_factory,
        read_pool=root.read_pool,
        events=root.events,
        mail_caps=root.notifications.caps,
        locales=root.notifications.locales,
        reset_ttl_seconds=settings.provided.password_reset_token_ttl_seconds,
        peppers=root.peppers,
        bcrypt_rounds=settings.provided.bcrypt_rounds,
        hash_concurrency=root.hash_concurrency,
        hash_queue_limit=settings.provided.hash_queue_limit,
        public_url=settings.provided.public_url,
        verification_ttl_seconds=settings.provided.verification_token_ttl_seconds,
        require_verified_email=settings.provided.require_verified_email,
        webhooks=root.notifications.webhook_subscribers,
    )


def _register_mail_resolver(root: Root) -> None:
    register_resolver(
        root.notifications, root.accounts.mail_request_templates(), root.accounts.mail_resolver
    )


def oidc_provider_configs(settings: Settings) -> tuple[OidcProviderConfig, ...]:
    """``GATEHOUSE_OIDC_PROVIDERS`` as the provider adapter takes it."""
    return tuple(
        OidcProviderConfig(
            name=provider.name,
            issuer=provider.resolved_issuer,
            client_id=provider.client_id,
            client_secret=provider.client_secret.get_secret_value(),
            scopes=provider.scopes,
        )
        for provider in settings.oidc_providers
    )


def _auth(root: Root) -> providers.Container[Any]:
    settings = root.settings
    return providers.Container(
        AuthContainer,
        clock=root.clock,
        session_factory=root.session_factory,
        read_pool=root.read_pool,
        redis=root.redis,
        redis_health=root.redis_health,
        redis_server=root.redis_server,
        events=root.events,
        accounts=root.accounts.directory,
        mail_caps=root.notifications.caps,
        keys_dir=settings.provided.resolved_keys_dir,
        create_keys=settings.provided.is_dev,
        key_rotation=settings.provided.key_rotation,
        keys_reload_seconds=settings.provided.keys_reload_seconds,
        issuer=settings.provided.issuer,
        audience=settings.provided.jwt_audience,
        access_ttl_seconds=settings.provided.access_token_ttl_seconds,
        idle_ttl_seconds=settings.provided.refresh_idle_ttl_seconds,
        absolute_ttl_seconds=settings.provided.refresh_absolute_ttl_seconds,
        reuse_grace_seconds=settings.provided.refresh_reuse_grace_seconds,
        refresh_token_key=root.refresh_token_key,
        allowed_origins=settings.provided.browser_origins,
        cookie_secure=settings.provided.cookie_secure,
        mfa_keys=root.mfa_keys,
        mfa_issuer=settings.provided.mfa_issuer,
        lockout_free_attempts=settings.provided.lockout_free_attempts,
        lockout_first_seconds=settings.provided.lockout_first_seconds,
        lockout_max_seconds=settings.provided.lockout_max_seconds,
        lockout_failures_per_hour=settings.provided.lockout_failures_per_hour,
        rate_limit_policies=providers.Dict(
            login=settings.provided.rate_limit_login,
            register=settings.provided.rate_limit_register,
            refresh=settings.provided.rate_limit_refresh,
            mail_request=settings.provided.rate_limit_mail_request,
            token_check=settings.provided.rate_limit_token_check,
            mfa=settings.provided.rate_limit_mfa,
        ),
        identities=root.accounts.identities,
        oidc_providers=providers.Callable(oidc_provider_configs, root.settings),
        oidc_timeout_seconds=settings.provided.oidc_timeout_seconds,
        public_url=settings.provided.public_url,
        oauth_redirect_urls=settings.provided.oauth_redirect_urls,
    )


def _organizations(root: Root) -> providers.Container[Any]:
    return providers.Container(
        OrganizationsContainer,
        clock=root.clock,
        session_factory=root.session_factory,
        events=root.events,
        accounts=root.accounts.directory,  # accounts' public facade, AccountDirectory
        accept_url=root.settings.provided.resolved_invitation_url,
    )


def _register_organizations_mail(root: Root) -> None:
    register_mail_templates(root.notifications, ORGANIZATIONS_MAIL)


MODULES: tuple[Module, ...] = (
    Module(
        "audit",
        _audit,
        routers=(audit_http.me_router, audit_http.admin_router),
        wired=(audit_http,),
        tables=audit_orm,
    ),
    Module(
        "notifications",
        _notifications,
        tables=notifications_orm,
        exports={"mail_locales": "locales"},
        eager=("webhook_endpoints", "renderer"),
    ),
    Module(
        "accounts",
        _accounts,
        routers=(
            accounts_http.auth_router,
            accounts_http.me_router,
            accounts_pages.router,
            accounts_admin.admin_router,
            accounts_identities.identities_router,
        ),
        wired=(accounts_http, accounts_pages, accounts_admin, accounts_identities),
        tables=accounts_orm,
        start_mappers=accounts_orm.start_mappers,
        register=_register_mail_resolver,
        eager=("hasher", "policy"),
    ),
    Module(
        "auth",
        _auth,
        routers=(
            auth_http.auth_router,
            auth_oauth.router,
            auth_mfa.auth_mfa_router,
            auth_mfa.me_mfa_router,
            auth_http.sessions_router,
            auth_http.well_known_router,
            auth_admin.admin_router,
            auth_social.oauth_router,
            auth_social.link_router,
        ),
        wired=(auth_http, auth_mfa, auth_oauth, auth_admin, auth_social),
        tables=auth_orm,
        start_mappers=auth_orm.start_mappers,
        exports={
            "principal_resolver": "principal_resolver",
            "step_up": "step_up",
            "rate_limiter": "rate_limiter",
            "rate_limits": "rate_limits",
        },
        eager=("key_ring", "refresh_token_key", "secret_box", "code_hasher", "rate_limits"),
    ),
    # The worked example of docs/adding-a-module.md: everything it needs is in this record.
    Module(
        "organizations",
        _organizations,
        routers=(organizations_http.router, organizations_http.admin_router),
        wired=(organizations_http,),
        tables=organizations_orm,
        start_mappers=organizations_orm.start_mappers,
        register=_register_organizations_mail,  # its mail templates, into notifications
    ),
)

# The shared HTTP layer's dependencies, injected by the root ids the modules export.
SHARED_WIRED = (
    "gatehouse.shared.http.security",
    "gatehouse.shared.http.locale",
    "gatehouse.shared.http.rate_limits",
)


def start_mappers() -> None:
    """Map every module's domain classes. Idempotent; the app, Alembic and tests call it."""
    for module in MODULES:
        if module.start_mappers is not None:
            module.start_mappers()


TABLE_MODULES = tuple(module.tables for module in MODULES if module.tables is not None)
