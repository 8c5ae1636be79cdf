"""``POST /api/v1/auth/token``: the OAuth 2.0 token endpoint (RFC 6749 sections 4.3 and 6).

The one endpoint whose errors are RFC 6749 JSON bodies, not problem documents, so standard
OAuth clients and Swagger UI's "Authorize" button can use it. It drives the same use cases as
``/login`` and ``/refresh``.

An account with a second factor gets, for the password grant, a 400 ``mfa_required`` error
carrying the ``mfa_token`` and ``methods`` (the Auth0 convention); finish the sign-in with
``POST /api/v1/auth/mfa/verify``.

Rate limits: the password grant counts against ``/login``'s policy and the refresh_token grant
against ``/refresh``'s (``GRANT_RATE_LIMITS``), so this endpoint is no way around them. Over a
limit the answer is 429 with ``Retry-After`` and the ``RateLimit-*`` headers, and the RFC 6749
body ``{"error": "slow_down", "error_description"}`` (docs/abuse.md says why).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gatehouse.modules.auth.application.refresh import RefreshSession, RefreshSessionHandler
from gatehouse.modules.auth.application.signing_in import (
    Login,
    LoginHandler,
    MfaRequired,
    TokenPair,
)
from gatehouse.shared.errors import (
    Forbidden,
    GatehouseError,
    InvalidInput,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.forms import FIELD_SCHEMA, FORM, FormError, read_form
from gatehouse.shared.http.rate_limits import RateLimitCheck, RateLimited
from gatehouse.shared.http.security import client_ip

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

NO_STORE = {"Pragma": "no-cache"}  # Cache-Control: no-store comes with every /api/ response

# The rate-limit policy each grant counts against: the same as the route it stands in for.
GRANT_RATE_LIMITS = {"password": "login", "refresh_token": "refresh"}

_FILLED = {**FIELD_SCHEMA, "minLength": 1}
_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["password", "refresh_token"]},
                        "username": {**_FILLED, "description": "the email address"},
                        "password": {**_FILLED, "format": "password"},
                        "refresh_token": _FILLED,
                        "scope": {**FIELD_SCHEMA, "description": "accepted and ignored"},
                    },
                    # each grant's parameters, as ``_required`` asks for them
                    "oneOf": [
                        {
                            "properties": {"grant_type": {"const": "password"}},
                            "required": ["username", "password"],
                        },
                        {
                            "properties": {"grant_type": {"const": "refresh_token"}},
                            "required": ["refresh_token"],
                        },
                    ],
                }
            }
        },
    },
    "responses": {
        "200": {"description": "RFC 6749 access token response"},
        "400": {
            "description": "RFC 6749 error: invalid_request, invalid_grant, ...; or "
            "mfa_required with mfa_token and methods (finish at /api/v1/auth/mfa/verify)"
        },
        "429": {
            "description": "RFC 6749 error body slow_down: over the grant's rate limit (the "
            "password grant shares /auth/login's, refresh_token /auth/refresh's), with "
            "Retry-After and the RateLimit headers"
        },
        "503": {"description": "RFC 6749 error: temporarily_unavailable"},
    },
}


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error, rendered as its JSON body."""

    def __init__(
        self, error: str, description: str, status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


def _token_response(pair: TokenPair) -> JSONResponse:
    return JSONResponse(
        {
            "access_token": pair.access_token,
            "token_type": "bearer",
            "expires_in": pair.expires_in,
            "refresh_token": pair.refresh_token,
            "refresh_expires_in": pair.refresh_expires_in,
        },
        headers=NO_STORE,
    )


async def _form(request: Request) -> dict[str, str]:
    try:
        return await read_form(request)
    except FormError as error:
        raise OAuthError("invalid_request", str(error)) from None


def _required(form: dict[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not form.get(name)]
    if missing:
        raise OAuthError("invalid_request", f"{' and '.join(missing)} required")
    return [form[name] for name in names]


async def _grant(
    form: dict[str, str],
    request: Request,
    rate_limit: RateLimitCheck,
    login: LoginHandler,
    refresh: RefreshSessionHandler,
) -> TokenPair | MfaRequired:
    grant = form.get("grant_type", "")
    try:
        if grant in GRANT_RATE_LIMITS:
            await rate_limit(GRANT_RATE_LIMITS[grant])
        if grant == "password":
            username, password = _required(form, "username", "password")
            return await login(
                Login(
                    email=username,
                    password=password,
                    user_agent=request.headers.get("user-agent"),
                    ip=client_ip(request),
                )
            )
        if grant == "refresh_token":
            [refresh_token] = _required(form, "refresh_token")
            return await refresh(
                RefreshSession(
                    refresh_token,
                    user_agent=request.headers.get("user-agent"),
                    ip=client_ip(request),
                )
            )
    except TooManyRequests as error:  # the grant's rate limit, or any throttle: 429 all the same
        raise OAuthError("slow_down", error.detail, 429, error.retry_after) from error
    except (Unauthenticated, InvalidInput, Forbidden) as error:  # credentials, token, unverified
        raise OAuthError("invalid_grant", error.detail) from error
    except Unavailable as error:
        raise OAuthError("temporarily_unavailable", error.detail, 503, retry_after=5) from error
    except GatehouseError as error:
        raise OAuthError("invalid_request", error.detail) from error
    if not grant:
        raise OAuthError("invalid_request", "grant_type is required")
    raise OAuthError("unsupported_grant_type", "use password or refresh_token")


@router.post(
    "/token",
    operation_id="auth_token",
    summary="OAuth 2.0 token endpoint (password and refresh_token grants)",
    openapi_extra=_SCHEMA,
)
@inject
async def token(
    request: Request,
    rate_limit: RateLimited,  # GRANT_RATE_LIMITS: the policy depends on the grant
    login: LoginHandler = Provide["auth.login"],
    refresh: RefreshSessionHandler = Provide["auth.refresh"],
) -> JSONResponse:
    try:
        pair = await _grant(await _form(request), request, rate_limit, login, refresh)
    except OAuthError as error:
        return error.response()
    if isinstance(pair, MfaRequired):
        return JSONResponse(
            {
                "error": "mfa_required",
                "error_description": "a second factor is needed: POST /api/v1/auth/mfa/verify",
                "mfa_token": pair.mfa_token,
                "methods": [method.value for method in pair.methods],
            },
            status_code=400,
            headers=NO_STORE,
        )
    return _token_response(pair)
