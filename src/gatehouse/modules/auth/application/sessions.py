"""The signed-in user's sessions: list them, end one, end the current one, end them all.

Ending sessions commits the revocation in PostgreSQL and records ``SessionsEnded``, whose
after-commit handler tells the fast denylist.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, RefreshTokenFactory
from gatehouse.modules.auth.domain.errors import SessionNotFound
from gatehouse.modules.auth.domain.events import SessionsEnded
from gatehouse.shared.clock import Clock
from gatehouse.shared.pagination import Page, page_of
from gatehouse.shared.principal import Principal


@dataclass(frozen=True, slots=True)
class SessionView:
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class ListSessions:
    principal: Principal
    limit: int = 20
    before: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class EndSession:
    principal: Principal
    session_id: uuid.UUID
    reason: str


@dataclass(frozen=True, slots=True)
class Logout:
    principal: Principal
    refresh_token: str | None = None


@dataclass(frozen=True, slots=True)
class EndAllSessions:
    user_id: uuid.UUID
    reason: str
    by: uuid.UUID | None = None  # the administrator who ended them, when not the user
    operator: str | None = None  # or the operator on the command line (``cli:alice``)
    ip: str | None = None
    user_agent: str | None = None


class ListSessionsHandler:
    def __init__(self, *, uow: Callable[[], AuthUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, query: ListSessions) -> Page[SessionView]:
        async with self._uow() as uow:
            sessions = await uow.sessions.list_active(
                query.principal.user_id,
                self._clock.now(),
                limit=query.limit + 1,
                before=query.before,
            )
        views = [
            SessionView(
                id=s.id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                user_agent=s.user_agent,
                ip=s.ip,
                current=s.id == query.principal.session_id,
            )
            for s in sessions
        ]
        return page_of(views, query.limit, lambda view: view.id)


class EndSessionHandler:
    """End one of the user's sessions (the current one for logout). Idempotent for the owner."""

    def __init__(self, *, uow: Callable[[], AuthUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: EndSession) -> None:
        async with self._uow() as uow:
            session = await uow.sessions.get(cmd.session_id, for_update=True)
            if session is None or session.user_id != cmd.principal.user_id:
                raise SessionNotFound
            session.revoke(self._clock.now(), cmd.reason)
            uow.record(
                SecurityEvent(
                    type="auth.session_ended",
                    user_id=session.user_id,
                    session_id=cmd.session_id,
                    details={"reason": cmd.reason, "by_session": str(cmd.principal.session_id)},
                )
            )
            uow.record(SessionsEnded(session_ids=(cmd.session_id,)))
            await uow.commit()


class LogoutHandler:
    """End the caller's session and, when the client sends its refresh token, that token's
    session too (a client that lost track of which session its token belongs to still ends it)."""

    def __init__(
        self,
        *,
        uow: Callable[[], AuthUnitOfWork],
        tokens: RefreshTokenFactory,
        end: EndSessionHandler,
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self._end = end

    async def __call__(self, cmd: Logout) -> None:
        principal = cmd.principal
        await self._end(EndSession(principal, principal.session_id, "logout"))
        if not cmd.refresh_token:
            return
        async with self._uow() as uow:
            token = await uow.refresh_tokens.get(self._tokens.hash(cmd.refresh_token))
        if token is not None and token.session_id != principal.session_id:
            with contextlib.suppress(SessionNotFound):  # not the caller's: nothing to end
                await self._end(EndSession(principal, token.session_id, "logout"))


class EndAllSessionsHandler:
    def __init__(self, *, uow: Callable[[], AuthUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, cmd: EndAllSessions) -> int:
        """How many sessions ended."""
        async with self._uow() as uow:
            ended = await uow.sessions.revoke_all(cmd.user_id, self._clock.now(), cmd.reason)
            details = {"reason": cmd.reason, "sessions": str(len(ended))}
            if cmd.by is not None:
                details["admin_id"] = str(cmd.by)
            if cmd.operator is not None:
                details["operator"] = cmd.operator
            uow.record(
                SecurityEvent(
                    type="auth.all_sessions_ended",
                    user_id=cmd.user_id,
                    ip=cmd.ip,
                    user_agent=cmd.user_agent,
                    details=details,
                )
            )
            uow.record(SessionsEnded(session_ids=tuple(ended)))
            await uow.commit()
        return len(ended)
