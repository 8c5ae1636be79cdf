"""The calling principal and client address, as FastAPI dependencies for every module."""

from __future__ import annotations

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gatehouse.shared.errors import Unauthenticated
from gatehouse.shared.http.di import Provide
from gatehouse.shared.principal import Principal, PrincipalResolver

bearer_scheme = HTTPBearer(auto_error=False, description="An access token from /auth/login.")


class AuthenticationRequired(Unauthenticated):
    code = "unauthenticated"
    title = "Authentication required"


@inject
async def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    resolver: PrincipalResolver = Depends(Provide["principal_resolver"]),  # noqa: B008
) -> Principal:
    if credentials is None:
        raise AuthenticationRequired
    return await resolver.resolve(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def _client_ip(request: Request) -> str | None:
    """The client address the request-context middleware settled on (proxies considered)."""
    ip: str | None = request.scope.get("state", {}).get("client_ip")
    return ip


ClientIp = Annotated[str | None, Depends(_client_ip)]
