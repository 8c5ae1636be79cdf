"""What the contract suite of the AuthUnitOfWork port shares: its two sides and its builders.

The auth use-case tests trust ``InMemoryAuthUnitOfWork``; the suite
(tests/contract/test_auth_unit_of_work_*.py) holds it to what ``SqlAlchemyAuthUnitOfWork`` does
with everything the use cases rely on: sessions (paged lists of the live ones, the device history
of a sign-in, ending them all), refresh tokens, MFA rows and backup codes, sign-in challenges, and
the events a unit of work records (a mail, a security event, the account's MFA summary, ended
sessions to denylist), kept only when it commits. A suite's module imports ``side_fixture``, so
that each of its tests runs against both sides as ``side``.

Each side gives the shared tests a small probe: ``uow()`` opens a unit of work; ``kept_mails``,
``kept_events`` and ``summary`` read back what the recorded events left once it is over (the
fake's committed state; the real one's ``notifications_outbox``, ``audit_event`` and
``accounts_user`` rows); ``told`` is the denylist both sides' after-commit handler tells.

The real side runs in ``tx_session_factory``: its commits are savepoints that the test's end
undoes. Auth's tables name users by id only (no foreign key into accounts), so random user ids
do; refresh tokens reference their session, which is added first.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.modules.audit.adapters.orm import audit_event_table
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.adapters.events import auth_subscriptions
from gatehouse.modules.auth.application.ports import AuthUnitOfWork
from gatehouse.modules.auth.domain.mfa import MfaChallenge
from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.modules.notifications.adapters.orm import outbox_table
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.ids import new_id
from tests.support.builders import T0, a_user
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryAuthUnitOfWork, InMemorySessionRevocations
from tests.support.uow import accounts_uow, auth_uow, opened_params

IDLE = timedelta(days=7)
ABSOLUTE = timedelta(days=30)
LATER = T0 + timedelta(hours=1)


class Side(Protocol):
    @property
    def told(self) -> InMemorySessionRevocations:
        """The denylist the after-commit handler of ``SessionsEnded`` tells."""
        ...

    def uow(self) -> AuthUnitOfWork: ...

    async def kept_mails(self, *recipients: str) -> list[OutgoingMail]:
        """The committed mails to these recipients, in the order they were recorded."""
        ...

    async def kept_events(self, user_id: uuid.UUID) -> list[SecurityEvent]:
        """The committed security events about this user, in the order they were recorded."""
        ...

    async def an_account(self) -> uuid.UUID:
        """A committed account (the real side's ``accounts_user`` row), for its MFA summary."""
        ...

    async def summary(self, user_id: uuid.UUID) -> MfaSummary:
        """The account's copy of its MFA state, as the committed changes left it."""
        ...


class InMemorySide:
    def __init__(self) -> None:
        clock = FixedClock(T0)
        self.told = InMemorySessionRevocations(clock)
        self._uow = InMemoryAuthUnitOfWork(after_commit=auth_subscriptions(clock, self.told))

    def uow(self) -> AuthUnitOfWork:
        return self._uow()

    async def kept_mails(self, *recipients: str) -> list[OutgoingMail]:
        return [mail for mail in self._uow.committed.mails if mail.to in recipients]

    async def kept_events(self, user_id: uuid.UUID) -> list[SecurityEvent]:
        return [event for event in self._uow.committed.events if event.user_id == user_id]

    async def an_account(self) -> uuid.UUID:
        return uuid.uuid4()

    async def summary(self, user_id: uuid.UUID) -> MfaSummary:
        return self._uow.committed.summaries.get(user_id, MfaSummary())


class SqlAlchemySide:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        clock = FixedClock(T0)
        self.told = InMemorySessionRevocations(clock)
        self._sessions = session_factory
        self._uow = auth_uow(session_factory, clock, self.told)
        self._accounts = accounts_uow(session_factory, clock)

    def uow(self) -> AuthUnitOfWork:
        return self._uow()

    async def kept_mails(self, *recipients: str) -> list[OutgoingMail]:
        t = outbox_table
        async with self._sessions() as session:
            rows = await session.execute(
                select(t).where(t.c.recipient.in_(recipients)).order_by(t.c.id)
            )
            return [
                OutgoingMail(
                    to=row.recipient,
                    template=row.template,
                    params=opened_params(row.params),
                    locale=row.locale,
                )
                for row in rows
            ]

    async def kept_events(self, user_id: uuid.UUID) -> list[SecurityEvent]:
        t = audit_event_table
        async with self._sessions() as session:
            rows = await session.execute(select(t).where(t.c.user_id == user_id).order_by(t.c.id))
            return [
                SecurityEvent(
                    type=row.type,
                    user_id=row.user_id,
                    session_id=row.session_id,
                    ip=row.ip,
                    user_agent=row.user_agent,
                    details=row.details,
                )
                for row in rows
            ]

    async def an_account(self) -> uuid.UUID:
        user = a_user()
        async with self._accounts() as tx:
            await tx.users.add(user)
            await tx.commit()
        return user.id

    async def summary(self, user_id: uuid.UUID) -> MfaSummary:
        async with self._accounts() as tx:
            user = await tx.users.get(user_id)
        assert user is not None
        return user.mfa


@pytest.fixture(name="side", params=["in_memory", "sqlalchemy"])
def side_fixture(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    factory: async_sessionmaker[AsyncSession] = request.getfixturevalue("tx_session_factory")
    return SqlAlchemySide(factory)


# ---------------------------------------------------------------- builders


def a_session(
    user_id: uuid.UUID,
    *,
    now: datetime = T0,
    idle: timedelta = IDLE,
    absolute: timedelta = ABSOLUTE,
    user_agent: str | None = "Firefox/140.0",
    ip: str | None = "203.0.113.7",
) -> Session:
    """A new session; ids are time-ordered, so each one is newer than the one made before."""
    return Session(
        id=new_id(),
        user_id=user_id,
        created_at=now,
        last_used_at=now,
        idle_expires_at=now + idle,
        absolute_expires_at=now + absolute,
        user_agent=user_agent,
        ip=ip,
        amr=("pwd",),
    )


def a_hash() -> bytes:
    return hashlib.sha256(secrets.token_bytes(32)).digest()


def a_refresh_token(session: Session) -> RefreshToken:
    return RefreshToken(
        token_hash=a_hash(),
        session_id=session.id,
        generation=session.generation,
        created_at=session.created_at,
    )


def a_challenge(user_id: uuid.UUID) -> MfaChallenge:
    return MfaChallenge(
        id=new_id(),
        token_hash=a_hash(),
        user_id=user_id,
        amr=("pwd",),
        created_at=T0,
        expires_at=T0 + timedelta(minutes=5),
    )


def session_fields(session: Session) -> dict[str, Any]:
    """Every field. ``ip`` as text: the real one reads PostgreSQL's ``inet`` back as an
    ``ipaddress`` object, not the ``str`` the domain declares (the HTTP schema calls ``str``)."""
    return {
        "id": session.id,
        "user_id": session.user_id,
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "idle_expires_at": session.idle_expires_at,
        "absolute_expires_at": session.absolute_expires_at,
        "user_agent": session.user_agent,
        "ip": None if session.ip is None else str(session.ip),
        "amr": session.amr,
        "generation": session.generation,
        "revoked_at": session.revoked_at,
        "revoke_reason": session.revoke_reason,
    }


async def add_sessions(side: Side, *sessions: Session) -> None:
    async with side.uow() as tx:
        for session in sessions:
            await tx.sessions.add(session)
        await tx.commit()


async def active_ids(
    side: Side,
    user_id: uuid.UUID,
    now: datetime = LATER,
    *,
    limit: int = 100,
    before: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    async with side.uow() as tx:
        found = await tx.sessions.list_active(user_id, now, limit=limit, before=before)
    return [s.id for s in found]
