"""Auth endpoints: sign-in and the public key discovery documents."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response, status

from gatehouse.modules.auth.application.ports import PublicKeySet
from gatehouse.modules.auth.application.refresh import RefreshSession, RefreshSessionHandler
from gatehouse.modules.auth.application.sessions import (
    EndAllSessions,
    EndAllSessionsHandler,
    EndSession,
    EndSessionHandler,
    ListSessions,
    ListSessionsHandler,
    Logout,
    LogoutHandler,
)
from gatehouse.modules.auth.application.signing_in import (
    Login,
    LoginHandler,
    MfaRequired,
    TokenPair,
)
from gatehouse.modules.auth.domain.errors import RefreshTokenInvalid
from gatehouse.modules.auth.entrypoints.http.cookies import (
    REFRESH_COOKIE,
    check_origin,
    clear_session_cookies,
    csrf_from,
    set_session_cookies,
)
from gatehouse.modules.auth.entrypoints.http.schemas import (
    AuthorizationServerMetadataOut,
    LoginIn,
    LogoutIn,
    MfaRequiredOut,
    RefreshIn,
    SessionOut,
    SessionPageOut,
    TokenPairOut,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.pagination import Before, Limit, next_cursor
from gatehouse.shared.http.rate_limits import rate_limited
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import ClientIp, CurrentPrincipal

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=JsonRoute)
well_known_router = APIRouter(prefix="/.well-known", tags=["discovery"])
sessions_router = APIRouter(prefix="/api/v1/me/sessions", tags=["me"], route_class=JsonRoute)


@auth_router.post(
    "/login",
    operation_id="auth_login",
    summary="Sign in with email and password",
    dependencies=[rate_limited("login")],
    responses=problems(401, 403, 413, 415, 422, 429, 503),
    response_model_exclude_none=True,
)
@inject
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    client_ip: ClientIp,
    *,
    locale: RequestLocale,
    handler: LoginHandler = Provide["auth.login"],
    allowed_origins: frozenset[str] = Provide["auth.allowed_origins"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> TokenPairOut | MfaRequiredOut:
    """Unknown address, wrong password and disabled account all answer the same 401.

    With ``"cookie": true`` the refresh token comes as an HttpOnly cookie (not in the body),
    with a readable ``gatehouse_csrf`` cookie and the same value as ``csrf_token`` in the body:
    echo it in ``X-CSRF-Token`` when refreshing.

    An account with a second factor answers ``{"mfa_required": true, "mfa_token", "methods"}``
    instead: finish with ``POST /auth/mfa/verify`` (send ``cookie`` there).
    """
    if body.cookie:
        check_origin(request, allowed_origins)
    result = await handler(
        Login(
            email=body.email,
            password=body.password,
            user_agent=request.headers.get("user-agent"),
            ip=client_ip,
            locale=locale,
        )
    )
    return sign_in_out(response, result, cookie=body.cookie, secure=cookie_secure)


def sign_in_out(
    response: Response, result: TokenPair | MfaRequired, *, cookie: bool, secure: bool
) -> TokenPairOut | MfaRequiredOut:
    """What a first factor answers (login, a social sign-in's exchange): the MFA step, or
    the token pair (``pair_out``)."""
    if isinstance(result, MfaRequired):
        return MfaRequiredOut.of(result)
    return pair_out(response, result, cookie=cookie, secure=secure)


def pair_out(response: Response, pair: TokenPair, *, cookie: bool, secure: bool) -> TokenPairOut:
    """The pair in the body, or in cookie mode the refresh token in cookies instead (and the
    CSRF value both in its cookie and in the body)."""
    if cookie:
        set_session_cookies(response, pair, secure=secure)
        return TokenPairOut.of(pair, cookie_mode=True)
    return TokenPairOut.of(pair)


@auth_router.post(
    "/refresh",
    operation_id="auth_refresh",
    summary="Exchange a refresh token for a new token pair",
    dependencies=[rate_limited("refresh")],
    responses=problems(401, 403, 413, 415, 422, 429, 503),
    response_model_exclude_none=True,
)
@inject
async def refresh(
    request: Request,
    response: Response,
    *,
    ip: ClientIp,
    body: RefreshIn | None = None,
    handler: RefreshSessionHandler = Provide["auth.refresh"],
    allowed_origins: frozenset[str] = Provide["auth.allowed_origins"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> TokenPairOut:
    """Rotates the refresh token: use the one returned from now on.

    Replaying the previous token within the grace interval (10 s) returns the same new pair's
    refresh token again (safe for tabs racing each other); any later replay ends the session
    (401 ``refresh_token_reused``) because a copy of the token is in someone else's hands.

    Cookie mode: send ``{"cookie": true}`` (or no body); the ``gatehouse_refresh`` cookie is
    used, ``X-CSRF-Token`` must carry the session's CSRF value (the ``csrf_token`` of the
    cookie-mode answers, also the ``gatehouse_csrf`` cookie's value; else 403 ``csrf_failed``),
    and new cookies come back.
    """
    user_agent = request.headers.get("user-agent")
    wants_cookie = None if body is None else body.cookie
    if body is not None and body.refresh_token is not None:
        if wants_cookie:
            check_origin(request, allowed_origins)
        pair = await handler(RefreshSession(body.refresh_token, user_agent=user_agent, ip=ip))
        return pair_out(response, pair, cookie=bool(wants_cookie), secure=cookie_secure)
    check_origin(request, allowed_origins)
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        raise RefreshTokenInvalid(
            "send the refresh token in the body or the gatehouse_refresh cookie"
        )
    pair = await handler(
        RefreshSession(cookie, csrf_token=csrf_from(request), user_agent=user_agent, ip=ip)
    )
    return pair_out(response, pair, cookie=wants_cookie is not False, secure=cookie_secure)


@well_known_router.get("/jwks.json", operation_id="jwks", summary="Public signing keys (JWK Set)")
@inject
def jwks(
    response: Response,
    keys: PublicKeySet = Provide["auth.tokens"],
) -> Mapping[str, Any]:
    # A cached copy expires before a key it has not seen can sign (ADR 0014, ADR 0020).
    response.headers["Cache-Control"] = f"public, max-age={keys.cache_seconds()}"
    return keys.jwks()


def server_metadata(issuer: str) -> AuthorizationServerMetadataOut:
    """What this server does, and nothing more (RFC 8414 section 2; ADR 0020).

    No authorization endpoint exists (only the password and refresh_token grants, both at the
    token endpoint), so ``authorization_endpoint`` is absent and ``response_types_supported``,
    which RFC 8414 requires, is the empty array. No ID tokens are issued: nothing about them.
    """
    return AuthorizationServerMetadataOut(
        issuer=issuer,
        token_endpoint=f"{issuer}/api/v1/auth/token",
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        grant_types_supported=["password", "refresh_token"],
        token_endpoint_auth_methods_supported=["none"],
        response_types_supported=[],
    )


@well_known_router.get(
    "/oauth-authorization-server",
    operation_id="oauth_authorization_server",
    summary="OAuth 2.0 authorization server metadata (RFC 8414)",
)
@well_known_router.get(
    "/openid-configuration",
    operation_id="openid_configuration",
    summary="The RFC 8414 metadata at the OpenID Connect discovery path; not an OpenID Provider",
)
@inject
def server_metadata_document(
    issuer: str = Provide["auth.issuer"],
) -> AuthorizationServerMetadataOut:
    """The same document at both well-known paths (ADR 0020)."""
    return server_metadata(issuer)


@auth_router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_logout",
    summary="End the current session",
    responses=problems(401, 413, 415, 422, 503),
)
@inject
async def logout(
    principal: CurrentPrincipal,
    response: Response,
    body: LogoutIn | None = None,
    handler: LogoutHandler = Provide["auth.logout"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> None:
    """The access token and the session's refresh token stop working at once, everywhere.
    The body is optional; a refresh token sent in it ends that token's session too."""
    await handler(Logout(principal, body.refresh_token if body else None))
    clear_session_cookies(response, secure=cookie_secure)


@auth_router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_logout_all",
    summary="End every session of the signed-in user",
    responses=problems(401, 503),
)
@inject
async def logout_all(
    principal: CurrentPrincipal,
    response: Response,
    handler: EndAllSessionsHandler = Provide["auth.end_all_sessions"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> None:
    await handler(EndAllSessions(principal.user_id, "logout_all"))
    clear_session_cookies(response, secure=cookie_secure)


@sessions_router.get(
    "",
    operation_id="me_sessions_list",
    summary="The signed-in user's active sessions, newest first",
    responses=problems(401, 422, 503),
)
@inject
async def list_sessions(
    principal: CurrentPrincipal,
    before: Before,
    limit: Limit = 20,
    handler: ListSessionsHandler = Provide["auth.list_sessions"],
) -> SessionPageOut:
    page = await handler(ListSessions(principal, limit=limit, before=before))
    return SessionPageOut(
        items=[SessionOut.of(item) for item in page.items],
        next_cursor=next_cursor(page.next_before),
    )


@sessions_router.delete(
    "/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="me_sessions_revoke",
    summary="End one of the signed-in user's sessions (sign a device out)",
    responses=problems(401, 404, 422, 503),
)
@inject
async def revoke_session(
    session_id: uuid.UUID,
    principal: CurrentPrincipal,
    handler: EndSessionHandler = Provide["auth.end_session"],
) -> None:
    """Another user's session id answers 404, like an unknown one."""
    await handler(EndSession(principal, session_id, "signed_out_by_user"))
