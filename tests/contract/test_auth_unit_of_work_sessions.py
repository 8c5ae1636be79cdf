"""The AuthUnitOfWork contract (tests/contract/auth_helpers.py), sessions: stored with every
field, kept only on commit (with everything else a unit of work changes), listed newest first and
paged, summarised, and the device history of a sign-in.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from gatehouse.modules.auth.application.ports import DeviceHistory, SessionSummary
from gatehouse.shared.ids import new_id
from tests.contract.auth_helpers import (
    IDLE,
    LATER,
    Side,
    a_challenge,
    a_hash,
    a_refresh_token,
    a_session,
    active_ids,
    add_sessions,
    session_fields,
    side_fixture,  # noqa: F401 - the fixture "side": each test runs against both sides
)
from tests.support.builders import T0


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
