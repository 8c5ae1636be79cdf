"""The AuthUnitOfWork contract (tests/contract/auth_helpers.py), recorded events: a mail, a
security event, ended sessions to denylist and the account's MFA summary, handled on each commit
and dropped without one.
"""

from __future__ import annotations

import uuid

from gatehouse.modules.accounts.domain.events import MfaSummaryChanged
from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.domain.events import SessionsEnded
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.ids import new_id
from tests.contract.auth_helpers import (
    LATER,
    Side,
    a_session,
    add_sessions,
    side_fixture,  # noqa: F401 - the fixture "side": each test runs against both sides
)
from tests.support.builders import unique_email


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
