"""The calling principal, step-up and client address, as FastAPI dependencies for every
module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from gatehouse.shared.errors import Forbidden, Unauthenticated
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.principal import Principal, PrincipalResolver
from gatehouse.shared.step_up import StepUp, StepUpProof

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
    resolver: PrincipalResolver = Provide["principal_resolver"],
) -> Principal:
    if not access_token:
        raise AuthenticationRequired
    return await resolver.resolve(access_token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


class RoleRequired(Forbidden):
    code = "role_required"
    title = "This needs a role the caller does not have"


class MfaSignInRequired(Forbidden):
    """The role is there, but the token comes from a sign-in without a second factor."""

    code = "mfa_sign_in_required"
    title = "Sign in with a second factor to use this"


@inject
async def _roles_needing_mfa(
    roles: frozenset[str] = Provide["roles_needing_mfa"],
) -> frozenset[str]:
    return roles


def require_role(principal: Principal, role: str, roles_needing_mfa: frozenset[str]) -> Principal:
    """``principal`` when it holds ``role`` (and, for a role that needs it, signed in with a
    second factor: ``amr`` holds ``mfa``); else 403 ``role_required`` or
    ``mfa_sign_in_required``."""
    if not principal.has_role(role):
        raise RoleRequired(f"this needs the {role} role")
    if role in roles_needing_mfa and "mfa" not in principal.amr:
        raise MfaSignInRequired(f"the {role} role needs a sign-in with a second factor")
    return principal


def RequireRole(role: str) -> Any:  # noqa: N802  (reads as a marker: Depends(RequireRole(...)))
    """A dependency any module's router uses: ``admin: Annotated[Principal, RequireRole("admin")]``
    or ``dependencies=[RequireRole("admin")]``. Roles travel in the access token, so changing a
    user's roles ends their sessions (no token keeps an old role)."""

    async def check(
        principal: CurrentPrincipal,
        roles_needing_mfa: frozenset[str] = Depends(_roles_needing_mfa),
    ) -> Principal:
        return require_role(principal, role, roles_needing_mfa)

    return Depends(check)


class StepUpCheck:
    """The signed-in user's step-up, ready to check the proof the route's body carries."""

    def __init__(self, gate: StepUp, principal: Principal, locale: str, ip: str | None) -> None:
        self._gate = gate
        self._locale = locale
        self._ip = ip
        self.principal = principal

    async def __call__(self, *, password: str | None, code: str | None) -> StepUpProof:
        """403 ``reauth_failed`` for a wrong password or code (a failed sign-in for the
        lockout); 429 ``too_many_attempts`` while the account or the client is locked out."""
        return await self._gate.prove(
            self.principal, password=password, code=code, locale=self._locale, ip=self._ip
        )


def client_ip(request: Request) -> str | None:
    """The client address the request-context middleware settled on (proxies considered)."""
    ip: str | None = request.scope.get("state", {}).get("client_ip")
    return ip


async def _client_ip(request: Request) -> str | None:
    # Dependencies are coroutines: FastAPI runs a plain ``def`` one on a worker thread, a
    # thread hop per request (ADR 0030).
    return client_ip(request)


ClientIp = Annotated[str | None, Depends(_client_ip)]


@inject
async def _step_up(
    principal: CurrentPrincipal,
    locale: RequestLocale,
    ip: ClientIp,
    gate: StepUp = Provide["step_up"],
) -> StepUpCheck:
    return StepUpCheck(gate, principal, locale, ip)


StepUpRequired = Annotated[StepUpCheck, Depends(_step_up)]
"""For sensitive routes: ``proof = await step_up(password=..., code=...)`` (body ``StepUpIn``),
then hand ``proof`` to the use case."""


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Who is calling, as recorded on sessions and audit events."""

    ip: str | None
    user_agent: str | None


async def _client_info(request: Request) -> ClientInfo:
    return ClientInfo(client_ip(request), request.headers.get("user-agent"))


Client = Annotated[ClientInfo, Depends(_client_info)]
