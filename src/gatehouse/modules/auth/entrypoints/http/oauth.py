"""``POST /api/v1/auth/token``: the OAuth 2.0 token endpoint (RFC 6749 sections 4.3 and 6).

The one endpoint whose errors are RFC 6749 JSON bodies, not problem documents, so standard
OAuth clients and Swagger UI's "Authorize" button can use it. It drives the same use cases as
``/login`` and ``/refresh``.

An account with a second factor gets, for the password grant, a 400 ``mfa_required`` error
carrying the ``mfa_token`` and ``methods`` (the Auth0 convention); finish the sign-in with
``POST /api/v1/auth/mfa/verify``.
"""

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request
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
    Unauthenticated,
    Unavailable,
)
from gatehouse.shared.http.di import Provide
from gatehouse.shared.http.forms import FORM, FormError, read_form
from gatehouse.shared.http.security import client_ip

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

NO_STORE = {"Pragma": "no-cache"}  # Cache-Control: no-store comes with every /api/ response

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
                        "username": {"type": "string", "description": "the email address"},
                        "password": {"type": "string", "format": "password"},
                        "refresh_token": {"type": "string"},
                        "scope": {"type": "string", "description": "accepted and ignored"},
                    },
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
        "503": {"description": "RFC 6749 error: temporarily_unavailable"},
    },
}


class OAuthError(Exception):
    """An RFC 6749 section 5.2 error, rendered as its JSON body."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 503:
            headers["Retry-After"] = "5"
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
    login: LoginHandler,
    refresh: RefreshSessionHandler,
) -> TokenPair | MfaRequired:
    grant = form.get("grant_type", "")
    try:
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
    except (Unauthenticated, InvalidInput, Forbidden) as error:  # credentials, token, unverified
        raise OAuthError("invalid_grant", error.detail) from error
    except Unavailable as error:
        raise OAuthError("temporarily_unavailable", error.detail, status=503) from error
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
    login: LoginHandler = Depends(Provide["auth.login"]),  # noqa: B008
    refresh: RefreshSessionHandler = Depends(Provide["auth.refresh"]),  # noqa: B008
) -> JSONResponse:
    try:
        pair = await _grant(await _form(request), request, login, refresh)
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
