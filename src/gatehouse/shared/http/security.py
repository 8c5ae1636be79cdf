"""The calling principal and client address, as FastAPI dependencies for every module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from gatehouse.shared.errors import Unauthenticated
from gatehouse.shared.http.di import Provide
from gatehouse.shared.principal import Principal, PrincipalResolver

bearer_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="An access token from /auth/login or /auth/token (Swagger UI: Authorize).",
)


class AuthenticationRequired(Unauthenticated):
    code = "unauthenticated"
    title = "Authentication required"


@inject
async def current_principal(
    access_token: Annotated[str | None, Depends(bearer_scheme)],
    resolver: PrincipalResolver = Depends(Provide["principal_resolver"]),  # noqa: B008
) -> Principal:
    if not access_token:
        raise AuthenticationRequired
    return await resolver.resolve(access_token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def client_ip(request: Request) -> str | None:
    """The client address the request-context middleware settled on (proxies considered)."""
    ip: str | None = request.scope.get("state", {}).get("client_ip")
    return ip


ClientIp = Annotated[str | None, Depends(client_ip)]


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who is calling, as recorded on sessions and audit events."""

    ip: str | None
    user_agent: str | None


def _client_info(request: Request) -> ClientInfo:
    return ClientInfo(client_ip(request), request.headers.get("user-agent"))


Client = Annotated[ClientInfo, Depends(_client_info)]
