"""Auth endpoints: sign-in and the public key discovery documents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request

from gatehouse.modules.auth.adapters.keys import ALGORITHM
from gatehouse.modules.auth.application.login import Login, LoginHandler
from gatehouse.modules.auth.application.ports import PublicKeySet
from gatehouse.modules.auth.domain.errors import CookieModeUnavailable
from gatehouse.modules.auth.entrypoints.http.schemas import (
    LoginIn,
    OpenIdConfigurationOut,
    TokenPairOut,
)
from gatehouse.shared.http.di import Provide
from gatehouse.shared.http.routing import JsonRoute, problems
from gatehouse.shared.http.security import ClientIp

auth_router = APIRouter(prefix="/api/v1/auth", tags=["auth"], route_class=JsonRoute)
well_known_router = APIRouter(prefix="/.well-known", tags=["discovery"])


@auth_router.post(
    "/login",
    operation_id="auth_login",
    summary="Sign in with email and password",
    responses=problems(401, 403, 413, 415, 422, 503),
)
@inject
async def login(
    body: LoginIn,
    request: Request,
    client_ip: ClientIp,
    handler: LoginHandler = Depends(Provide["auth.login"]),  # noqa: B008
) -> TokenPairOut:
    """Unknown address, wrong password and disabled account all answer the same 401."""
    if body.cookie:
        raise CookieModeUnavailable("cookie mode arrives with refresh-token rotation")
    pair = await handler(
        Login(
            email=body.email,
            password=body.password,
            user_agent=request.headers.get("user-agent"),
            ip=client_ip,
        )
    )
    return TokenPairOut.of(pair)


@well_known_router.get("/jwks.json", operation_id="jwks", summary="Public signing keys (JWK Set)")
@inject
def jwks(keys: PublicKeySet = Depends(Provide["auth.tokens"])) -> Mapping[str, Any]:  # noqa: B008
    return keys.jwks()


@well_known_router.get(
    "/openid-configuration",
    operation_id="openid_configuration",
    summary="Discovery document: issuer, JWKS and token endpoint",
)
@inject
def openid_configuration(
    issuer: str = Depends(Provide["auth.issuer"]),
) -> OpenIdConfigurationOut:
    return OpenIdConfigurationOut(
        issuer=issuer,
        jwks_uri=f"{issuer}/.well-known/jwks.json",
        token_endpoint=f"{issuer}/api/v1/auth/token",
        grant_types_supported=["password", "refresh_token"],
        token_endpoint_auth_methods_supported=["none"],
        id_token_signing_alg_values_supported=[ALGORITHM],
        subject_types_supported=["public"],
        response_types_supported=["token"],
    )
