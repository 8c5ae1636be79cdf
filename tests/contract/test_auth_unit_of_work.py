"""One suite for the AuthUnitOfWork port, run against the fake and the real adapter.

The auth use-case tests trust ``InMemoryAuthUnitOfWork``; this suite holds it to what
``SqlAlchemyAuthUnitOfWork`` does with everything the use cases rely on: sessions (paged lists
of the live ones, the device history of a sign-in, ending them all), refresh tokens, MFA rows
and backup codes, sign-in challenges, and the events a unit of work records (a mail, a security
event, the account's MFA summary, ended sessions to denylist), kept only when it commits.

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

from gatehouse.modules.accounts.domain.events import MfaSummaryChanged
from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.modules.audit.adapters.orm import audit_event_table
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.adapters.events import auth_subscriptions
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, DeviceHistory, SessionSummary
from gatehouse.modules.auth.domain.events import SessionsEnded
from gatehouse.modules.auth.domain.mfa import MfaChallenge
from gatehouse.modules.auth.domain.model import RefreshToken, Session
from gatehouse.modules.notifications.adapters.orm import outbox_table
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.ids import new_id
from tests.support.builders import T0, a_user, unique_email
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


@pytest.fixture(params=["in_memory", "sqlalchemy"])
def side(request: pytest.FixtureRequest) -> Side:
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


# ---------------------------------------------------------------- sessions


async def test_a_committed_session_is_found_with_every_field(side: Side) -> None:
    session = a_session(uuid.uuid4())
    session.amr = ("pwd", "otp", "mfa")
    session.generation = 3
    expected = session_fields(session)
    await add_sessions(side, session)

    async with side.uow() as tx:
        found = await tx.sessions.get(session.id)
        locked = await tx.sessions.get(session.id, for_update=True)
        unknown = await tx.sessions.get(new_id())

    assert found is not None
    assert session_fields(found) == expected
    assert locked is not None
    assert session_fields(locked) == expected
    assert unknown is None


async def test_a_session_without_user_agent_or_ip_keeps_them_empty(side: Side) -> None:
    session = a_session(uuid.uuid4(), user_agent=None, ip=None)
    await add_sessions(side, session)

    async with side.uow() as tx:
        found = await tx.sessions.get(session.id)

    assert found is not None
    assert (found.user_agent, found.ip) == (None, None)


async def test_nothing_is_kept_without_commit(side: Side) -> None:
    user_id = uuid.uuid4()
    session = a_session(user_id)
    token = a_refresh_token(session)
    challenge = a_challenge(user_id)
    async with side.uow() as tx:
        await tx.sessions.add(session)
        await tx.refresh_tokens.add(token)
        await tx.challenges.add(challenge)
        mfa = await tx.mfa.get_or_add(user_id)
        mfa.enable_email(T0)
        await tx.mfa.replace_backup_codes(user_id, [a_hash()], T0)
        # visible inside its own unit of work
        assert await tx.sessions.get(session.id) is not None
        assert await tx.refresh_tokens.get(token.token_hash) is not None
        assert await tx.challenges.get(challenge.token_hash) is not None
        assert await tx.mfa.backup_codes_remaining(user_id) == 1

    async with side.uow() as tx:
        assert await tx.sessions.get(session.id) is None
        assert await tx.sessions.list_active(user_id, LATER, limit=10, before=None) == []
        assert await tx.sessions.device_history(user_id, session.user_agent) == DeviceHistory(
            signed_in_before=False, this_device_before=False
        )
        assert await tx.refresh_tokens.get(token.token_hash) is None
        assert await tx.challenges.get(challenge.token_hash) is None
        assert await tx.mfa.get(user_id) is None
        assert await tx.mfa.backup_codes_remaining(user_id) == 0


async def test_changes_to_a_session_loaded_for_update_are_kept_only_on_commit(
    side: Side,
) -> None:
    session = a_session(uuid.uuid4())
    await add_sessions(side, session)

    async with side.uow() as tx:
        loaded = await tx.sessions.get(session.id, for_update=True)
        assert loaded is not None
        loaded.revoke(LATER, "abandoned")
        # no commit

    async with side.uow() as tx:
        loaded = await tx.sessions.get(session.id, for_update=True)
        assert loaded is not None
        assert loaded.revoked_at is None
        loaded.touch(LATER, IDLE)
        await tx.commit()

    async with side.uow() as tx:
        reloaded = await tx.sessions.get(session.id)
    assert reloaded is not None
    assert (reloaded.last_used_at, reloaded.idle_expires_at) == (LATER, LATER + IDLE)
    assert reloaded.revoked_at is None


async def test_a_session_read_in_a_unit_of_work_is_usable_after_it(side: Side) -> None:
    """The session list and logout read in a unit of work, then use what they read after it."""
    user_id = uuid.uuid4()
    session = a_session(user_id)
    await add_sessions(side, session)

    async with side.uow() as tx:
        [listed] = await tx.sessions.list_active(user_id, LATER, limit=10, before=None)
        found = await tx.sessions.get(session.id)

    assert found is not None
    assert session_fields(listed) == session_fields(found) == session_fields(session)


async def test_active_sessions_are_listed_newest_first(side: Side) -> None:
    user_id = uuid.uuid4()
    first, second, third = (a_session(user_id) for _ in range(3))
    await add_sessions(side, second, third)  # stored out of order
    await add_sessions(side, first)
    await add_sessions(side, a_session(uuid.uuid4()))  # someone else's

    assert await active_ids(side, user_id) == [third.id, second.id, first.id]


async def test_the_summary_counts_active_sessions_and_the_latest_sign_in(side: Side) -> None:
    user_id = uuid.uuid4()
    async with side.uow() as tx:
        assert await tx.sessions.summary(user_id, LATER) == SessionSummary(0, None)
    old = a_session(user_id, now=T0 - timedelta(days=60))  # expired by LATER
    ended = a_session(user_id)
    ended.revoke(T0, "logout")
    live, newest = a_session(user_id), a_session(user_id, now=T0 + timedelta(minutes=1))
    await add_sessions(side, old, ended, live, newest, a_session(uuid.uuid4()))

    async with side.uow() as tx:
        summary = await tx.sessions.summary(user_id, LATER)
    assert summary == SessionSummary(active=2, last_sign_in=T0 + timedelta(minutes=1))


async def test_active_sessions_are_paged_with_limit_and_before(side: Side) -> None:
    user_id = uuid.uuid4()
    sessions = [a_session(user_id) for _ in range(5)]
    await add_sessions(side, *sessions)
    newest_first = [s.id for s in reversed(sessions)]

    first_page = await active_ids(side, user_id, limit=2)
    second_page = await active_ids(side, user_id, limit=2, before=first_page[-1])
    last_page = await active_ids(side, user_id, limit=2, before=second_page[-1])

    assert first_page == newest_first[:2]
    assert second_page == newest_first[2:4]
    assert last_page == newest_first[4:]
    assert await active_ids(side, user_id, limit=2, before=newest_first[-1]) == []
    # ``before`` need not be one of the user's sessions: any id orders them
    assert await active_ids(side, user_id, before=new_id()) == newest_first


async def test_revoked_and_expired_sessions_are_not_listed(side: Side) -> None:
    user_id = uuid.uuid4()
    now = T0 + timedelta(days=10)
    live = a_session(user_id, now=now - timedelta(hours=1))
    revoked = a_session(user_id, now=now - timedelta(hours=1))
    revoked.revoke(now - timedelta(minutes=1), "logout")
    idle_ended = a_session(user_id, now=now - IDLE - timedelta(seconds=1))
    idle_ends_now = a_session(user_id, now=now - IDLE)
    absolute_ends_now = a_session(user_id, now=now - timedelta(hours=1))
    absolute_ends_now.absolute_expires_at = now
    await add_sessions(side, live, revoked, idle_ended, idle_ends_now, absolute_ends_now)

    assert await active_ids(side, user_id, now) == [live.id]
    assert await active_ids(side, user_id, now - timedelta(seconds=1)) == [
        absolute_ends_now.id,
        idle_ends_now.id,
        live.id,
    ]


async def test_device_history_tells_a_first_sign_in_and_a_known_device(side: Side) -> None:
    user_id = uuid.uuid4()

    async with side.uow() as tx:
        assert await tx.sessions.device_history(user_id, "Firefox/140.0") == DeviceHistory(
            signed_in_before=False, this_device_before=False
        )

    ended = a_session(user_id, user_agent="Firefox/140.0")
    ended.revoke(T0, "logout")  # ended sessions count: the device was seen
    await add_sessions(side, ended, a_session(uuid.uuid4(), user_agent="Safari/18.0"))

    async with side.uow() as tx:
        firefox = await tx.sessions.device_history(user_id, "Firefox/140.0")
        safari = await tx.sessions.device_history(user_id, "Safari/18.0")
        unknown = await tx.sessions.device_history(user_id, None)

    assert firefox == DeviceHistory(signed_in_before=True, this_device_before=True)
    assert safari == DeviceHistory(signed_in_before=True, this_device_before=False)
    assert unknown == DeviceHistory(signed_in_before=True, this_device_before=False)


async def test_device_history_matches_a_missing_user_agent_to_a_missing_one(side: Side) -> None:
    user_id = uuid.uuid4()
    await add_sessions(side, a_session(user_id, user_agent=None))

    async with side.uow() as tx:
        missing = await tx.sessions.device_history(user_id, None)
        firefox = await tx.sessions.device_history(user_id, "Firefox/140.0")

    assert missing == DeviceHistory(signed_in_before=True, this_device_before=True)
    assert firefox == DeviceHistory(signed_in_before=True, this_device_before=False)


async def test_revoke_all_ends_every_live_session_of_the_user_but_keep_and_returns_them(
    side: Side,
) -> None:
    user_id = uuid.uuid4()
    kept, ended_a, ended_b = (a_session(user_id) for _ in range(3))
    earlier = a_session(user_id)
    earlier.revoke(T0, "logout")
    other = a_session(uuid.uuid4())
    await add_sessions(side, kept, ended_a, ended_b, earlier, other)

    async with side.uow() as tx:
        ended = await tx.sessions.revoke_all(user_id, LATER, "password_changed", keep=kept.id)
        await tx.commit()

    assert sorted(ended) == sorted([ended_a.id, ended_b.id])
    async with side.uow() as tx:
        states = {
            s.id: (found.revoked_at, found.revoke_reason)
            for s in (kept, ended_a, ended_b, earlier, other)
            if (found := await tx.sessions.get(s.id)) is not None
        }
    assert states == {
        kept.id: (None, None),
        ended_a.id: (LATER, "password_changed"),
        ended_b.id: (LATER, "password_changed"),
        earlier.id: (T0, "logout"),  # ended before: its time and reason stay
        other.id: (None, None),
    }
    assert await active_ids(side, user_id) == [kept.id]


async def test_revoke_all_without_keep_ends_them_all_and_again_ends_none(side: Side) -> None:
    user_id = uuid.uuid4()
    sessions = [a_session(user_id) for _ in range(2)]
    await add_sessions(side, *sessions)

    async with side.uow() as tx:
        first = await tx.sessions.revoke_all(user_id, LATER, "account_deleted")
        again = await tx.sessions.revoke_all(user_id, LATER, "account_deleted")
        await tx.commit()

    assert sorted(first) == sorted(s.id for s in sessions)
    assert again == []
    assert await active_ids(side, user_id) == []


async def test_revoke_all_is_kept_only_on_commit(side: Side) -> None:
    user_id = uuid.uuid4()
    session = a_session(user_id)
    await add_sessions(side, session)

    async with side.uow() as tx:
        assert await tx.sessions.revoke_all(user_id, LATER, "abandoned") == [session.id]
        # no commit

    assert await active_ids(side, user_id) == [session.id]


# ---------------------------------------------------------------- refresh tokens


async def test_a_committed_refresh_token_is_found_by_its_hash(side: Side) -> None:
    session = a_session(uuid.uuid4())
    token = a_refresh_token(session)
    async with side.uow() as tx:
        await tx.sessions.add(session)  # first: the token references it
        await tx.refresh_tokens.add(token)
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.refresh_tokens.get(token.token_hash)
        unknown = await tx.refresh_tokens.get(a_hash())

    assert found is not None
    assert (found.token_hash, found.session_id, found.generation, found.created_at) == (
        token.token_hash,
        session.id,
        0,
        T0,
    )
    assert found.rotated_at is None
    assert unknown is None


async def test_a_committed_rotation_keeps_the_retired_token_its_child_and_the_session(
    side: Side,
) -> None:
    """What a refresh does: lock the session, read the token again, rotate, commit."""
    session = a_session(uuid.uuid4())
    parent = a_refresh_token(session)
    async with side.uow() as tx:
        await tx.sessions.add(session)
        await tx.refresh_tokens.add(parent)
        await tx.commit()
    child_hash = a_hash()

    async with side.uow() as tx:
        locked = await tx.sessions.get(session.id, for_update=True)
        token = await tx.refresh_tokens.get(parent.token_hash)
        assert locked is not None
        assert token is not None
        await tx.refresh_tokens.add(locked.rotate(token, child_hash, LATER, IDLE))
        await tx.commit()

    async with side.uow() as tx:
        retired = await tx.refresh_tokens.get(parent.token_hash)
        child = await tx.refresh_tokens.get(child_hash)
        rotated = await tx.sessions.get(session.id)
    assert retired is not None
    assert retired.rotated_at == LATER
    assert child is not None
    assert (child.session_id, child.generation, child.created_at, child.rotated_at) == (
        session.id,
        1,
        LATER,
        None,
    )
    assert rotated is not None
    assert (rotated.generation, rotated.last_used_at) == (1, LATER)


async def test_a_rotation_without_commit_leaves_the_token_live(side: Side) -> None:
    session = a_session(uuid.uuid4())
    parent = a_refresh_token(session)
    async with side.uow() as tx:
        await tx.sessions.add(session)
        await tx.refresh_tokens.add(parent)
        await tx.commit()
    child_hash = a_hash()

    async with side.uow() as tx:
        locked = await tx.sessions.get(session.id, for_update=True)
        token = await tx.refresh_tokens.get(parent.token_hash)
        assert locked is not None
        assert token is not None
        await tx.refresh_tokens.add(locked.rotate(token, child_hash, LATER, IDLE))
        # no commit: a disabled account's refresh is refused before the token is spent

    async with side.uow() as tx:
        again = await tx.refresh_tokens.get(parent.token_hash)
        child = await tx.refresh_tokens.get(child_hash)
        unchanged = await tx.sessions.get(session.id)
    assert again is not None
    assert again.rotated_at is None
    assert child is None
    assert unchanged is not None
    assert unchanged.generation == 0


# ---------------------------------------------------------------- MFA rows and backup codes


async def test_get_or_add_creates_the_row_once_and_returns_it_again(side: Side) -> None:
    user_id = uuid.uuid4()
    async with side.uow() as tx:
        assert await tx.mfa.get(user_id) is None
        first = await tx.mfa.get_or_add(user_id)
        assert (first.user_id, first.has_factor(), first.email_code_attempts) == (
            user_id,
            False,
            0,
        )
        first.enable_email(T0)
        second = await tx.mfa.get_or_add(user_id)
        assert second.email_enabled_at == T0  # the same row, with the change
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.mfa.get(user_id)
        again = await tx.mfa.get_or_add(user_id)  # an existing row is not replaced
    assert found is not None
    assert found.email_enabled_at == T0
    assert again.email_enabled_at == T0


async def test_changes_to_an_mfa_row_are_kept_with_every_field_only_on_commit(
    side: Side,
) -> None:
    user_id = uuid.uuid4()
    code_hash = a_hash()
    async with side.uow() as tx:
        mfa = await tx.mfa.get_or_add(user_id)
        mfa.begin_totp("v1:pending", T0, timedelta(minutes=10))
        mfa.confirm_totp(55_000_000, T0)
        mfa.begin_totp("v1:next", T0, timedelta(minutes=10))
        mfa.enable_email(T0)
        mfa.issue_email_code(code_hash, T0 + timedelta(minutes=10))
        mfa.email_code_attempts = 2
        await tx.commit()

    async with side.uow() as tx:
        loaded = await tx.mfa.get(user_id, for_update=True)
        assert loaded is not None
        loaded.disable_totp()
        loaded.disable_email()
        # no commit

    async with side.uow() as tx:
        found = await tx.mfa.get(user_id)
    assert found is not None
    assert (
        found.totp_secret,
        found.totp_enabled_at,
        found.totp_last_step,
        found.totp_pending_secret,
        found.totp_pending_expires_at,
        found.email_enabled_at,
        found.email_code_hash,
        found.email_code_expires_at,
        found.email_code_attempts,
    ) == (
        "v1:pending",
        T0,
        55_000_000,
        "v1:next",
        T0 + timedelta(minutes=10),
        T0,
        code_hash,
        T0 + timedelta(minutes=10),
        2,
    )


async def test_a_backup_code_is_spent_once(side: Side) -> None:
    user_id = uuid.uuid4()
    codes = [a_hash() for _ in range(3)]
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, codes, T0)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 3
        assert await tx.mfa.use_backup_code(user_id, [codes[0]], LATER) is True
        assert await tx.mfa.use_backup_code(user_id, [codes[0]], LATER) is False
        assert await tx.mfa.backup_codes_remaining(user_id) == 2
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.use_backup_code(user_id, [codes[0]], LATER) is False  # still spent
        assert await tx.mfa.use_backup_code(user_id, [a_hash()], LATER) is False
        # a code's hash under any key version: the one that matches is spent
        assert await tx.mfa.use_backup_code(user_id, [a_hash(), codes[1]], LATER) is True
        assert await tx.mfa.backup_codes_remaining(user_id) == 1
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 1


async def test_backup_codes_belong_to_their_user(side: Side) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    code = a_hash()
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(owner, [code], T0)
        await tx.mfa.replace_backup_codes(other, [a_hash(), a_hash()], T0)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.use_backup_code(other, [code], LATER) is False
        await tx.mfa.delete_backup_codes(other)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(owner) == 1
        assert await tx.mfa.backup_codes_remaining(other) == 0
        assert await tx.mfa.use_backup_code(owner, [code], LATER) is True


async def test_a_new_set_of_backup_codes_voids_the_old_one(side: Side) -> None:
    user_id = uuid.uuid4()
    old = [a_hash() for _ in range(3)]
    new = [a_hash() for _ in range(2)]
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, old, T0)
        assert await tx.mfa.use_backup_code(user_id, [old[0]], T0) is True
        await tx.commit()

    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, new, LATER)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 2
        assert await tx.mfa.use_backup_code(user_id, old[1:], LATER) is False
        assert await tx.mfa.use_backup_code(user_id, [new[0]], LATER) is True


async def test_deleted_backup_codes_are_gone_only_on_commit(side: Side) -> None:
    user_id = uuid.uuid4()
    code = a_hash()
    async with side.uow() as tx:
        await tx.mfa.replace_backup_codes(user_id, [code, a_hash()], T0)
        await tx.commit()

    async with side.uow() as tx:
        await tx.mfa.delete_backup_codes(user_id)
        assert await tx.mfa.backup_codes_remaining(user_id) == 0
        # no commit

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 2
        await tx.mfa.delete_backup_codes(user_id)
        await tx.commit()

    async with side.uow() as tx:
        assert await tx.mfa.backup_codes_remaining(user_id) == 0
        assert await tx.mfa.use_backup_code(user_id, [code], LATER) is False


# ---------------------------------------------------------------- sign-in challenges


async def test_a_committed_challenge_is_found_by_its_hash_and_its_answers_are_kept(
    side: Side,
) -> None:
    user_id = uuid.uuid4()
    challenge = a_challenge(user_id)
    async with side.uow() as tx:
        await tx.challenges.add(challenge)
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.challenges.get(challenge.token_hash)
        assert await tx.challenges.get(a_hash()) is None
        assert found is not None
        assert (found.id, found.user_id, found.amr, found.created_at, found.expires_at) == (
            challenge.id,
            user_id,
            ("pwd",),
            T0,
            T0 + timedelta(minutes=5),
        )
        assert (found.attempts, found.used_at) == (0, None)
        assert found.fail(LATER) == 4
        await tx.commit()

    async with side.uow() as tx:
        found = await tx.challenges.get(challenge.token_hash)
        assert found is not None
        assert found.attempts == 1
        found.spend(LATER)
        # no commit

    async with side.uow() as tx:
        found = await tx.challenges.get(challenge.token_hash)
    assert found is not None
    assert (found.attempts, found.used_at) == (1, None)
    assert found.is_open(T0 + timedelta(minutes=1))


# ---------------------------------------------------------------- recorded events


def a_mail(template: str = "new_sign_in", **params: str) -> OutgoingMail:
    return OutgoingMail(to=unique_email("auth").value, template=template, params=params)


def an_event(user_id: uuid.UUID, kind: str = "auth.login_succeeded") -> SecurityEvent:
    return SecurityEvent(
        type=kind,
        user_id=user_id,
        session_id=new_id(),
        ip="198.51.100.4",
        user_agent="Firefox/140.0",
        details={"method": "password"},
    )


async def test_a_committed_mail_and_security_event_are_kept(side: Side) -> None:
    user_id = uuid.uuid4()
    mail = OutgoingMail(
        to=unique_email("auth").value,
        template="new_sign_in",
        params={"device": "Firefox on Linux", "when": "Zoë's 🗝"},
        locale="de",
    )
    event = an_event(user_id)
    async with side.uow() as tx:
        tx.record(mail)
        tx.record(event)
        await tx.commit()

    assert await side.kept_mails(mail.to) == [mail]
    assert await side.kept_events(user_id) == [event]


async def test_events_recorded_without_commit_are_dropped(side: Side) -> None:
    user_id = uuid.uuid4()
    mail = a_mail()
    session = a_session(user_id)
    await add_sessions(side, session)
    async with side.uow() as tx:
        tx.record(mail)
        tx.record(an_event(user_id))
        tx.record(SessionsEnded(session_ids=(session.id,)))
        # no commit

    assert await side.kept_mails(mail.to) == []
    assert await side.kept_events(user_id) == []
    assert side.told.told == []


async def test_each_commit_handles_what_was_recorded_since_the_one_before(side: Side) -> None:
    user_id = uuid.uuid4()
    first, second = a_mail(n="1"), a_mail(n="2")
    ended_first, ended_second = new_id(), new_id()
    async with side.uow() as tx:
        tx.record(first)
        tx.record(an_event(user_id, "auth.first"))
        tx.record(SessionsEnded(session_ids=(ended_first,)))
        await tx.commit()
        tx.record(second)
        tx.record(an_event(user_id, "auth.second"))
        tx.record(SessionsEnded(session_ids=(ended_second,)))
        await tx.commit()

    assert await side.kept_mails(first.to, second.to) == [first, second]
    assert [e.type for e in await side.kept_events(user_id)] == ["auth.first", "auth.second"]
    assert side.told.told == [ended_first, ended_second]


async def test_ended_sessions_are_denylisted_once_their_revocation_commits(side: Side) -> None:
    user_id = uuid.uuid4()
    sessions = [a_session(user_id) for _ in range(2)]
    await add_sessions(side, *sessions)

    async with side.uow() as tx:
        ended = await tx.sessions.revoke_all(user_id, LATER, "logout_all")
        tx.record(SessionsEnded(session_ids=tuple(ended)))
        assert side.told.told == []  # not before the commit
        await tx.commit()
        assert sorted(side.told.told) == sorted(s.id for s in sessions)

    for session in sessions:
        assert await side.told.is_revoked(session.id)


async def test_a_committed_mfa_summary_change_reaches_the_account(side: Side) -> None:
    user_id = await side.an_account()
    summary = MfaSummary(totp=True, email=False, backup_codes_remaining=7)
    async with side.uow() as tx:
        tx.record(MfaSummaryChanged(user_id=user_id, summary=MfaSummary(totp=True)))
        await tx.commit()
    async with side.uow() as tx:
        tx.record(MfaSummaryChanged(user_id=user_id, summary=summary))  # the newest counts
        await tx.commit()
    async with side.uow() as tx:
        tx.record(MfaSummaryChanged(user_id=user_id, summary=MfaSummary(email=True)))
        # no commit

    assert await side.summary(user_id) == summary
