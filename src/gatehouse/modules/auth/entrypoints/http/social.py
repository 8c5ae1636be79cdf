"""Social login over HTTP: ``/auth/oauth/{provider}/authorize`` and ``/callback`` (browser
navigations, answered with redirects), ``POST /auth/oauth/exchange`` (the app trades the
one-time login code for tokens), and ``POST /me/identities/{provider}`` (link from settings).

The attempt is bound to the browser by the ``gatehouse_oauth`` cookie: HttpOnly, ``SameSite=Lax``
(a Strict cookie would not come back with the redirect from the provider's site), for the
callback's path only. A browser keeps one value for all its attempts, so two tabs signing in
at once do not undo each other.
"""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse
from pydantic import Field

from gatehouse.modules.accounts.application.public import Requester
from gatehouse.modules.auth.application.social import (
    ATTEMPT_TTL_SECONDS,
    MAX_BROWSER_TOKEN_LENGTH,
    BeginSocialSignIn,
    BeginSocialSignInHandler,
    ExchangeLoginCode,
    ExchangeLoginCodeHandler,
    FinishSocialSignIn,
    FinishSocialSignInHandler,
    new_browser_token,
)
from gatehouse.modules.auth.entrypoints.http.cookies import check_origin
from gatehouse.modules.auth.entrypoints.http.router import sign_in_out
from gatehouse.modules.auth.entrypoints.http.schemas import MfaRequiredOut, TokenPairOut
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.rate_limits import rate_limited
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.schemas import OutSchema, SafeStr, Schema
from gatehouse.shared.http.security import ClientIp, CurrentPrincipal

OAUTH_COOKIE = "gatehouse_oauth"
OAUTH_PATH = "/api/v1/auth/oauth"

oauth_router = APIRouter(prefix=OAUTH_PATH, tags=["social login"], route_class=JsonRoute)
link_router = APIRouter(prefix="/api/v1/me/identities", tags=["me"], route_class=JsonRoute)

ProviderName = Annotated[str, Field(min_length=1, max_length=64)]
RedirectTo = Annotated[SafeStr, Field(min_length=1, max_length=2048)]
ShortParam = Annotated[SafeStr | None, Query(max_length=2048)]


def _browser_token(request: Request) -> str:
    """The browser's binding value: the one it already holds, else a new one."""
    token = request.cookies.get(OAUTH_COOKIE)
    if token and len(token) <= MAX_BROWSER_TOKEN_LENGTH:
        return token
    return new_browser_token()


def _bind(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        OAUTH_COOKIE,
        token,
        max_age=ATTEMPT_TTL_SECONDS,
        path=OAUTH_PATH,
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


@oauth_router.get(
    "/{provider}/authorize",
    operation_id="auth_oauth_authorize",
    summary="Start a social sign-in: redirects the browser to the provider",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    dependencies=[rate_limited("login")],
    responses={
        302: {"description": "to the provider's authorization endpoint"},
        **problems(400, 404, 422, 429, 503),
    },
)
@inject
async def authorize(
    provider: ProviderName,
    redirect_to: Annotated[RedirectTo, Query()],
    request: Request,
    *,
    handler: BeginSocialSignInHandler = Provide["auth.begin_social"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> RedirectResponse:
    """Navigate the browser here (not a fetch). ``redirect_to`` must be, exactly, one of
    ``GATEHOUSE_OAUTH_REDIRECT_URLS`` (else 400 ``redirect_not_allowed``, never a redirect);
    an unknown provider is 404 ``provider_not_found``; a provider that cannot be reached is
    503 ``provider_unavailable``."""
    token = _browser_token(request)
    url = await handler(BeginSocialSignIn(provider, redirect_to, token))
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND)
    _bind(response, token, secure=cookie_secure)
    return response


@oauth_router.get(
    "/{provider}/callback",
    operation_id="auth_oauth_callback",
    summary="The provider sends the browser back here",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    dependencies=[rate_limited("login")],
    responses={
        302: {"description": "to redirect_to with ?code= (or ?linked=), or ?error="},
        **problems(400, 422, 429, 503),
    },
)
@inject
async def callback(
    provider: ProviderName,
    request: Request,
    *,
    client_ip: ClientIp,
    locale: RequestLocale,
    state: ShortParam = None,
    code: ShortParam = None,
    error: ShortParam = None,
    iss: ShortParam = None,
    handler: FinishSocialSignInHandler = Provide["auth.finish_social"],
) -> RedirectResponse:
    """Registered at the provider as the redirect URI
    (``{GATEHOUSE_PUBLIC_URL}/api/v1/auth/oauth/{provider}/callback``). An ``iss`` sent by the
    provider (RFC 9207) must be its issuer.

    An unknown, spent or expired ``state``, or one started in another browser, is 400
    ``state_invalid``. Otherwise the browser goes back to ``redirect_to`` with
    ``?code=<one-time login code>`` (trade it at ``POST /auth/oauth/exchange`` within 60 s),
    ``?linked=<provider>`` after linking from settings, or ``?error=`` one of
    ``access_denied``, ``account_exists``, ``email_not_verified``, ``provider_error``."""
    outcome = await handler(
        FinishSocialSignIn(
            provider=provider,
            state=state or "",
            code=code,
            error=error,
            issuer=iss,
            browser_token=request.cookies.get(OAUTH_COOKIE),
            requester=Requester(client_ip, request.headers.get("user-agent"), locale),
        )
    )
    response = RedirectResponse(
        _with_query(outcome.redirect_to, outcome.params), status_code=status.HTTP_302_FOUND
    )
    response.headers["Cache-Control"] = "no-store"
    return response


class ExchangeIn(Schema):
    code: Annotated[SafeStr, Field(min_length=1, max_length=256)]
    cookie: bool = False


@oauth_router.post(
    "/exchange",
    operation_id="auth_oauth_exchange",
    summary="Trade a one-time login code for a token pair (or the MFA step)",
    dependencies=[rate_limited("login")],
    responses=problems(400, 403, 413, 415, 422, 429, 503),
    response_model_exclude_none=True,
)
@inject
async def exchange(
    body: ExchangeIn,
    request: Request,
    response: Response,
    client_ip: ClientIp,
    *,
    locale: RequestLocale,
    handler: ExchangeLoginCodeHandler = Provide["auth.exchange_login_code"],
    allowed_origins: frozenset[str] = Provide["auth.allowed_origins"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> TokenPairOut | MfaRequiredOut:
    """The code from the callback's redirect, once, within 60 s (else 400 ``token_invalid``).
    Answers like ``POST /auth/login``: a token pair (``"cookie": true`` for cookie mode), or
    ``{"mfa_required": true, ...}`` for an account with a second factor."""
    if body.cookie:
        check_origin(request, allowed_origins)
    result = await handler(
        ExchangeLoginCode(
            code=body.code,
            user_agent=request.headers.get("user-agent"),
            ip=client_ip,
            locale=locale,
        )
    )
    return sign_in_out(response, result, cookie=body.cookie, secure=cookie_secure)


class LinkIn(Schema):
    redirect_to: RedirectTo


class AuthorizationUrlOut(OutSchema):
    authorization_url: str


@link_router.post(
    "/{provider}",
    operation_id="me_identities_link",
    summary="Link a social account: answers the provider URL to send the browser to",
    responses=problems(400, 401, 404, 413, 415, 422, 503),
)
@inject
async def link(
    provider: ProviderName,
    body: LinkIn,
    principal: CurrentPrincipal,
    request: Request,
    response: Response,
    *,
    handler: BeginSocialSignInHandler = Provide["auth.begin_social"],
    cookie_secure: bool = Provide["auth.cookie_secure"],
) -> AuthorizationUrlOut:
    """Send this request with the browser's cookies (``fetch(..., {credentials: "include"})``):
    the answer binds the attempt to the browser with the ``gatehouse_oauth`` cookie, then the
    app navigates to ``authorization_url``. The callback links that provider account to the
    signed-in user (never to anyone else) and returns to ``redirect_to?linked=<provider>``,
    or ``?error=account_exists`` when it already signs in to another account."""
    token = _browser_token(request)
    user_id: uuid.UUID = principal.user_id
    url = await handler(BeginSocialSignIn(provider, body.redirect_to, token, link_user_id=user_id))
    _bind(response, token, secure=cookie_secure)
    response.headers["Cache-Control"] = "no-store"
    return AuthorizationUrlOut(authorization_url=url)
