"""The one list a new module appends to: its mappers and its routers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from gatehouse.modules.accounts.adapters import orm as accounts_orm
from gatehouse.modules.accounts.entrypoints.http import pages as accounts_pages
from gatehouse.modules.accounts.entrypoints.http import router as accounts_http
from gatehouse.modules.audit.adapters import orm as audit_orm
from gatehouse.modules.audit.entrypoints.http import router as audit_http
from gatehouse.modules.auth.adapters import orm as auth_orm
from gatehouse.modules.auth.entrypoints.http import mfa as auth_mfa
from gatehouse.modules.auth.entrypoints.http import oauth as auth_oauth
from gatehouse.modules.auth.entrypoints.http import router as auth_http
from gatehouse.modules.notifications.adapters import orm as notifications_orm

MAPPERS: tuple[Callable[[], None], ...] = (accounts_orm.start_mappers, auth_orm.start_mappers)

ROUTERS: tuple[APIRouter, ...] = (
    accounts_http.auth_router,
    auth_http.auth_router,
    auth_oauth.router,
    auth_mfa.auth_mfa_router,
    accounts_http.me_router,
    auth_mfa.me_mfa_router,
    auth_http.sessions_router,
    audit_http.me_router,
    auth_http.well_known_router,
    accounts_pages.router,
)

# Modules whose functions use ``Provide[...]`` markers.
WIRED = (
    accounts_http,
    accounts_pages,
    audit_http,
    auth_http,
    auth_mfa,
    auth_oauth,
    "gatehouse.shared.http.security",
    "gatehouse.shared.http.locale",
)

# Imported for their tables, so metadata (Alembic, tests) knows every module's schema.
TABLE_MODULES = (accounts_orm, audit_orm, auth_orm, notifications_orm)


def start_mappers() -> None:
    """Map every module's domain classes. Idempotent; the app, Alembic and tests call it."""
    for start in MAPPERS:
        start()
