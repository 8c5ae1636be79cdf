"""What auth does when accounts records a change to credentials (registered by main, run in
accounts' transaction): the user's sessions end, and their access tokens are denylisted once
it commits (``SessionsEnded``). A take-over by a social sign-in also removes the second factors
the previous holder set up.

The audit event of a password change says how many sessions it ended, so it is written here,
where that is known.
"""

from __future__ import annotations

from gatehouse.modules.accounts.application.public import (
    AccountDeleted,
    AccountDisabled,
    AccountTakenOver,
    MfaSummary,
    MfaSummaryChanged,
    PasswordChanged,
    RolesChanged,
)
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.ports import SessionTerminator
from gatehouse.modules.auth.domain.events import SessionsEnded
from gatehouse.shared.events import EventRecorder


async def end_sessions_on_password_change(
    event: PasswordChanged, sessions: SessionTerminator, events: EventRecorder
) -> None:
    ended = await sessions.end_all(event.user_id, event.reason, keep=event.kept_session)
    events.record(
        SecurityEvent(
            type=f"account.{event.reason}",
            user_id=event.user_id,
            session_id=event.kept_session,
            ip=event.ip,
            user_agent=event.user_agent,
            details={"sessions_ended": str(len(ended))},
        )
    )
    events.record(SessionsEnded(session_ids=tuple(ended)))


async def end_sessions_on_deletion(
    event: AccountDeleted, sessions: SessionTerminator, events: EventRecorder
) -> None:
    ended = await sessions.end_all(event.user_id, "account_deleted")
    await sessions.forget(event.user_id)
    events.record(SessionsEnded(session_ids=tuple(ended)))


async def end_sessions_on_access_change(
    event: AccountDisabled | RolesChanged, sessions: SessionTerminator, events: EventRecorder
) -> None:
    """Disabled, or new roles (which old access tokens would still carry): every session
    ends now, and its access tokens are denylisted once the change commits."""
    reason = "account_disabled" if isinstance(event, AccountDisabled) else "roles_changed"
    ended = await sessions.end_all(event.user_id, reason)
    events.record(SessionsEnded(session_ids=tuple(ended)))


async def end_sessions_on_take_over(
    event: AccountTakenOver, sessions: SessionTerminator, events: EventRecorder
) -> None:
    """A verified provider identity claimed an address its holder never proved: whatever the
    holder set up ends, every session, sign-in halfway through and second factor (the sessions
    keep their IP and user agent: the account lives on). The account's MFA summary follows."""
    ended = await sessions.end_all(event.user_id, "account_taken_over")
    await sessions.remove_factors(event.user_id)
    events.record(MfaSummaryChanged(user_id=event.user_id, summary=MfaSummary()))
    events.record(SessionsEnded(session_ids=tuple(ended)))
