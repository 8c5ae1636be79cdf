"""Fakes for the auth module's ports (contracts: tests/contract/test_auth_unit_of_work_*.py,
tests/contract/test_session_revocations.py and tests/contract/test_attempt_limiter.py)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gatehouse.modules.accounts.domain.events import MfaSummaryChanged
from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.ports import (
    AccessTokenIssuer,
    AuthUnitOfWork,
    DeviceHistory,
    Lockout,
    MfaChallengeRepository,
    MfaRepository,
    RefreshTokenRepository,
    SessionRepository,
    SessionRevocations,
    SessionSummary,
    SignInAttempt,
)
from gatehouse.modules.auth.application.refresh import RefreshRotations
from gatehouse.modules.auth.domain.errors import TooManyAttempts
from gatehouse.modules.auth.domain.lockout import LockoutPolicy, Refused, Streak
from gatehouse.modules.auth.domain.mfa import MfaChallenge, UserMfa
from gatehouse.modules.auth.domain.model import AccessClaims, RefreshToken, Session
from gatehouse.shared.clock import Clock
from gatehouse.shared.messagebus import Subscription
from tests.support.fakes.uow import InMemoryUnitOfWork, Recorded


def _no_sessions() -> Iterable[Session]:
    return ()


class InMemorySessionRevocations(SessionRevocations):
    """The denylist as a set, as ``RedisSessionRevocations`` behaves once its copy is built.

    ``revoked`` adds to it (``told`` keeps every id in the order it was told, for assertions);
    ``is_revoked`` answers from it alone, so a use case that forgets to tell is caught; ``sync``
    copies every session the store of record revoked within the last ``lookback`` (the real
    one's 60 seconds), at most once per ``interval_seconds`` like the real one's shared turn.

    ``sessions`` returns the store of record's committed sessions (PostgreSQL's ``auth_session``
    for the real one), read at each ``sync``; a fake unit of work's, or none.

    Not modelled: denylist entries expiring after the access-token lifetime, and the real one's
    cold start (no complete copy yet: it asks PostgreSQL, where an unknown session counts as
    revoked, and rebuilds the copy).
    """

    def __init__(
        self,
        clock: Clock,
        sessions: Callable[[], Iterable[Session]] = _no_sessions,
        *,
        lookback: timedelta = timedelta(seconds=60),
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._lookback = lookback
        self._denylist: set[uuid.UUID] = set()
        self._next_sync: datetime | None = None
        self.told: list[uuid.UUID] = []

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return session_id in self._denylist

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        self.told.extend(session_ids)
        self._denylist.update(session_ids)

    async def sync(self, interval_seconds: float) -> int:
        now = self._clock.now()
        if self._next_sync is not None and now < self._next_sync:
            return 0  # this interval's sync already ran
        self._next_sync = now + timedelta(seconds=interval_seconds)
        recent = [
            session.id
            for session in self._sessions()
            if session.revoked_at is not None and session.revoked_at > now - self._lookback
        ]
        self._denylist.update(recent)
        return len(recent)


class InMemoryLockout(Lockout):
    """The lockout rule (``LockoutPolicy``) over dictionaries, on the given clock.

    As ``RedisLockout``: an attempt is put in flight for the account and the IP when admitted,
    refused (counting nothing) while either is locked or busy, a failure counts for both and
    spends the account's hourly budget (at most ``failures_per_hour`` an hour), a success
    starts both over. Not modelled: the real one's keyed subjects and its fallback to memory
    when Redis is down. ``streak`` shows what is counted, for assertions.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        policy: LockoutPolicy | None = None,
        failures_per_hour: int = 100,
    ) -> None:
        self._clock = clock
        self._policy = policy or LockoutPolicy()
        self._per_hour = failures_per_hour
        self._streaks: dict[tuple[str, str], Streak] = {}
        self._failures: dict[str, list[datetime]] = {}

    @staticmethod
    def _subjects(attempt: SignInAttempt) -> list[tuple[str, str]]:
        subjects = [("account", attempt.account)]
        if attempt.ip:
            subjects.append(("ip", attempt.ip))
        return subjects

    async def admit(self, attempt: SignInAttempt) -> None:
        now = self._clock.now()
        hour_ago = now - timedelta(hours=1)
        failures = [at for at in self._failures.get(attempt.account, []) if at > hour_ago]
        self._failures[attempt.account] = failures
        if len(failures) >= self._per_hour:
            raise TooManyAttempts(math.ceil((failures[0] - hour_ago).total_seconds()))
        subjects = self._subjects(attempt)
        decision = self._policy.admit([self.streak(*s) for s in subjects], now)
        if isinstance(decision, Refused):
            raise TooManyAttempts(math.ceil(decision.retry_after.total_seconds()))
        self._streaks.update(zip(subjects, decision.streaks, strict=True))

    def _update(self, attempt: SignInAttempt, change: Callable[[Streak], Streak]) -> None:
        for subject in self._subjects(attempt):
            self._streaks[subject] = change(self.streak(*subject))

    async def failed(self, attempt: SignInAttempt) -> None:
        now = self._clock.now()
        self._update(attempt, lambda streak: self._policy.failed(streak, now))
        self._failures.setdefault(attempt.account, []).append(now)

    async def succeeded(self, attempt: SignInAttempt) -> None:
        self._update(attempt, self._policy.succeeded)

    async def released(self, attempt: SignInAttempt) -> None:
        self._update(attempt, self._policy.released)

    def streak(self, kind: str, value: str) -> Streak:
        """``kind`` is ``"account"`` (an email) or ``"ip"``."""
        return self._streaks.get((kind, value), Streak())


@dataclass
class _AuthState(Recorded):
    sessions: dict[uuid.UUID, Session] = field(default_factory=dict)
    refresh_tokens: dict[bytes, RefreshToken] = field(default_factory=dict)
    mfa: dict[uuid.UUID, UserMfa] = field(default_factory=dict)
    backup_codes: dict[tuple[uuid.UUID, bytes], datetime | None] = field(default_factory=dict)
    challenges: dict[bytes, MfaChallenge] = field(default_factory=dict)

    @property
    def summaries(self) -> dict[uuid.UUID, MfaSummary]:
        """Accounts' copy of each user's MFA state, as the recorded changes leave it."""
        return {
            event.user_id: event.summary
            for event in self.recorded
            if isinstance(event, MfaSummaryChanged)
        }


class InMemoryMfaRepository(MfaRepository):
    def __init__(self, state: _AuthState) -> None:
        self._state = state

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> UserMfa | None:
        return self._state.mfa.get(user_id)

    async def get_or_add(self, user_id: uuid.UUID) -> UserMfa:
        return self._state.mfa.setdefault(user_id, UserMfa(user_id=user_id))

    async def backup_codes_remaining(self, user_id: uuid.UUID) -> int:
        return sum(
            1
            for (owner, _), used in self._state.backup_codes.items()
            if owner == user_id and not used
        )

    async def replace_backup_codes(
        self, user_id: uuid.UUID, code_hashes: list[bytes], now: datetime
    ) -> None:
        await self.delete_backup_codes(user_id)
        self._state.backup_codes.update({(user_id, h): None for h in code_hashes})

    async def use_backup_code(
        self, user_id: uuid.UUID, candidates: list[bytes], now: datetime
    ) -> bool:
        for candidate in candidates:
            key = (user_id, candidate)
            if key in self._state.backup_codes and self._state.backup_codes[key] is None:
                self._state.backup_codes[key] = now
                return True
        return False

    async def delete_backup_codes(self, user_id: uuid.UUID) -> None:
        for key in [key for key in self._state.backup_codes if key[0] == user_id]:
            del self._state.backup_codes[key]


class InMemoryMfaChallengeRepository(MfaChallengeRepository):
    def __init__(self, state: _AuthState) -> None:
        self._state = state

    async def add(self, challenge: MfaChallenge) -> None:
        self._state.challenges[challenge.token_hash] = challenge

    async def get(self, token_hash: bytes) -> MfaChallenge | None:
        return self._state.challenges.get(token_hash)


class InMemorySessionRepository(SessionRepository):
    def __init__(self, state: _AuthState) -> None:
        self._state = state

    async def add(self, session: Session) -> None:
        self._state.sessions[session.id] = session

    async def get(self, session_id: uuid.UUID, *, for_update: bool = False) -> Session | None:
        return self._state.sessions.get(session_id)

    async def list_active(
        self, user_id: uuid.UUID, now: datetime, *, limit: int, before: uuid.UUID | None
    ) -> list[Session]:
        active = [
            s
            for s in self._state.sessions.values()
            if s.user_id == user_id and s.is_active(now) and (before is None or s.id < before)
        ]
        return sorted(active, key=lambda s: s.id, reverse=True)[:limit]

    async def summary(self, user_id: uuid.UUID, now: datetime) -> SessionSummary:
        mine = [s for s in self._state.sessions.values() if s.user_id == user_id]
        return SessionSummary(
            active=sum(s.is_active(now) for s in mine),
            last_sign_in=max((s.created_at for s in mine), default=None),
        )

    async def device_history(self, user_id: uuid.UUID, user_agent: str | None) -> DeviceHistory:
        mine = [s for s in self._state.sessions.values() if s.user_id == user_id]
        return DeviceHistory(
            signed_in_before=bool(mine),
            this_device_before=any(s.user_agent == user_agent for s in mine),
        )

    async def revoke_all(
        self, user_id: uuid.UUID, now: datetime, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        ended = [
            s
            for s in self._state.sessions.values()
            if s.user_id == user_id and s.revoked_at is None and s.id != keep
        ]
        for session in ended:
            session.revoke(now, reason)
        return [s.id for s in ended]


class InMemoryRefreshTokenRepository(RefreshTokenRepository):
    def __init__(self, state: _AuthState) -> None:
        self._state = state

    async def add(self, token: RefreshToken) -> None:
        self._state.refresh_tokens[token.token_hash] = token

    async def get(self, token_hash: bytes) -> RefreshToken | None:
        return self._state.refresh_tokens.get(token_hash)


class InMemoryAuthUnitOfWork(InMemoryUnitOfWork[_AuthState], AuthUnitOfWork):
    def __init__(self, after_commit: Sequence[Subscription[Any]] = ()) -> None:
        super().__init__(_AuthState(), after_commit)

    def _attach(self, state: _AuthState) -> None:
        self.sessions = InMemorySessionRepository(state)
        self.refresh_tokens = InMemoryRefreshTokenRepository(state)
        self.mfa = InMemoryMfaRepository(state)
        self.challenges = InMemoryMfaChallengeRepository(state)

    @property
    def sessions_by_id(self) -> dict[uuid.UUID, Session]:
        return self.committed.sessions

    @property
    def events(self) -> list[SecurityEvent]:
        return self.committed.events


class InMemoryRefreshRotations(RefreshRotations):
    """The lean rotation over a fake unit of work's state (contract:
    tests/contract/test_refresh_rotations.py): ``find`` reads copies of what is committed,
    ``save`` commits the rotation when the stored session is still at the generation before
    it and not revoked."""

    def __init__(self, uow: InMemoryAuthUnitOfWork) -> None:
        self._uow = uow

    async def find(self, token_hash: bytes) -> tuple[Session, RefreshToken] | None:
        async with self._uow as uow:
            token = await uow.refresh_tokens.get(token_hash)
            session = None if token is None else await uow.sessions.get(token.session_id)
            return None if token is None or session is None else (session, token)

    async def save(self, session: Session, spent: RefreshToken, child: RefreshToken) -> bool:
        async with self._uow as uow:
            stored = await uow.sessions.get(session.id)
            if stored is None or stored.generation != child.generation - 1 or stored.revoked_at:
                return False
            await uow.sessions.add(session)
            await uow.refresh_tokens.add(spent)
            await uow.refresh_tokens.add(child)
            await uow.commit()
            return True


class FakeAccessTokenIssuer(AccessTokenIssuer):
    def __init__(self) -> None:
        self.issued: list[AccessClaims] = []

    def issue(self, claims: AccessClaims) -> str:
        self.issued.append(claims)
        return f"access-{len(self.issued)}"
