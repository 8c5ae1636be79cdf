"""Fakes for use-case unit tests: in-memory adapters that subclass the real ports."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Generic, Self, TypeVar

from gatehouse.modules.accounts.application.ports import (
    AccountsUnitOfWork,
    OneTimeTokenRepository,
    PasswordHasher,
    UserRepository,
)
from gatehouse.modules.accounts.application.public import MfaSummaryRecorder
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered
from gatehouse.modules.accounts.domain.model import (
    Email,
    MfaSummary,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.modules.audit.application.public import AuditTrail, SecurityEvent
from gatehouse.modules.auth.application.ports import (
    AccessTokenIssuer,
    AuthUnitOfWork,
    DeviceHistory,
    MfaChallengeRepository,
    MfaRepository,
    RefreshTokenRepository,
    SessionRepository,
    SessionRevocations,
)
from gatehouse.modules.auth.application.public import SessionTerminator
from gatehouse.modules.auth.domain.mfa import MfaChallenge, UserMfa
from gatehouse.modules.auth.domain.model import AccessClaims, RefreshToken, Session
from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail
from gatehouse.shared.clock import Clock

StateT = TypeVar("StateT")


class FixedClock(Clock):
    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass
class _AccountsState:
    """What an in-memory "database" holds; copied in and out to mimic transactions."""

    users: dict[uuid.UUID, User] = field(default_factory=dict)
    tokens: dict[uuid.UUID, OneTimeToken] = field(default_factory=dict)
    mails: list[OutgoingMail] = field(default_factory=list)
    events: list[SecurityEvent] = field(default_factory=list)
    ended_sessions: list[tuple[uuid.UUID, str]] = field(default_factory=list)  # (user, reason)


class RecordingSessionTerminator(SessionTerminator):
    """Auth's terminator as accounts sees it: records whose sessions ended, and why."""

    def __init__(self, state: _AccountsState) -> None:
        self._state = state

    async def end_all(
        self, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        self._state.ended_sessions.append((user_id, reason))
        return [uuid.uuid5(user_id, reason)]  # one stand-in session id per call

    async def forget(self, user_id: uuid.UUID) -> None:
        self._state.ended_sessions.append((user_id, "forgotten"))


class InMemoryUserRepository(UserRepository):
    def __init__(self, state: _AccountsState) -> None:
        self._state = state

    async def add(self, user: User) -> None:
        if any(other.email == user.email for other in self._state.users.values()):
            raise EmailAlreadyRegistered
        self._state.users[user.id] = user

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        return self._state.users.get(user_id)

    async def get_by_email(self, email: Email) -> User | None:
        return next((u for u in self._state.users.values() if u.email == email), None)

    async def delete(self, user: User) -> None:
        del self._state.users[user.id]
        for token_id in [t.id for t in self._state.tokens.values() if t.user_id == user.id]:
            del self._state.tokens[token_id]


class InMemoryOneTimeTokenRepository(OneTimeTokenRepository):
    def __init__(self, state: _AccountsState) -> None:
        self._state = state

    async def add(self, token: OneTimeToken) -> None:
        await self.void_unused(token.user_id, token.purpose, token.created_at)
        self._state.tokens[token.id] = token

    async def get_by_hash(self, purpose: TokenPurpose, token_hash: bytes) -> OneTimeToken | None:
        return next(
            (
                t
                for t in self._state.tokens.values()
                if t.purpose == purpose and t.token_hash == token_hash
            ),
            None,
        )

    async def newest_usable(
        self, user_id: uuid.UUID, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None:
        mine = [
            t
            for t in self._state.tokens.values()
            if t.user_id == user_id and t.purpose == purpose and t.is_usable(now)
        ]
        return max(mine, key=lambda t: t.created_at, default=None)

    async def void_unused(
        self, user_id: uuid.UUID, purpose: TokenPurpose | None, now: datetime
    ) -> None:
        for token in self._state.tokens.values():
            if (
                token.user_id == user_id
                and purpose in (None, token.purpose)
                and token.used_at is None
            ):
                token.used_at = now


class InMemoryMailOutbox(MailOutbox):
    def __init__(self, mails: list[OutgoingMail]) -> None:
        self._mails = mails

    async def enqueue(self, mail: OutgoingMail) -> None:
        self._mails.append(mail)


class _InMemoryUnitOfWork(Generic[StateT]):
    """A unit of work over a copied state: changes become visible to the next one on commit."""

    committed: StateT

    def __init__(self, committed: StateT) -> None:
        self.committed = committed
        self.commits = 0

    def __call__(self) -> Self:
        return self

    def _attach(self, state: StateT) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._working = copy.deepcopy(self.committed)
        self._attach(self._working)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._working

    async def commit(self) -> None:
        self.committed = copy.deepcopy(self._working)
        self.commits += 1


class InMemoryAccountsUnitOfWork(_InMemoryUnitOfWork[_AccountsState], AccountsUnitOfWork):
    def __init__(self, committed: _AccountsState | None = None) -> None:
        super().__init__(committed if committed is not None else _AccountsState())

    def _attach(self, state: _AccountsState) -> None:
        self.users = InMemoryUserRepository(state)
        self.tokens = InMemoryOneTimeTokenRepository(state)
        self.outbox = InMemoryMailOutbox(state.mails)
        self.audit = InMemoryAuditTrail(state.events)
        self.sessions = RecordingSessionTerminator(state)

    @property
    def mails(self) -> list[OutgoingMail]:
        return self.committed.mails


class FakePasswordHasher(PasswordHasher):
    """Reversible "hashing" that records calls, so tests can check timing-parity paths."""

    def __init__(self, scheme: str = "fake1") -> None:
        self.scheme = scheme
        self.calls: list[str] = []

    async def hash(self, password: str) -> PasswordHash:
        self.calls.append("hash")
        return PasswordHash(f"{self.scheme}${password}")

    async def verify(self, password: str, hashed: PasswordHash) -> bool:
        self.calls.append("verify")
        return hashed.value.partition("$")[2] == password  # any scheme verifies

    async def verify_dummy(self, password: str) -> None:
        self.calls.append("dummy")

    def needs_rehash(self, hashed: PasswordHash) -> bool:
        return not hashed.value.startswith(f"{self.scheme}$")


@dataclass
class _AuthState:
    sessions: dict[uuid.UUID, Session] = field(default_factory=dict)
    refresh_tokens: dict[bytes, RefreshToken] = field(default_factory=dict)
    events: list[SecurityEvent] = field(default_factory=list)
    mails: list[OutgoingMail] = field(default_factory=list)
    mfa: dict[uuid.UUID, UserMfa] = field(default_factory=dict)
    backup_codes: dict[tuple[uuid.UUID, bytes], datetime | None] = field(default_factory=dict)
    challenges: dict[bytes, MfaChallenge] = field(default_factory=dict)
    summaries: dict[uuid.UUID, MfaSummary] = field(default_factory=dict)


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


class InMemoryMfaSummaryRecorder(MfaSummaryRecorder):
    def __init__(self, state: _AuthState) -> None:
        self._state = state

    async def record(self, user_id: uuid.UUID, summary: MfaSummary) -> None:
        self._state.summaries[user_id] = summary


class InMemoryAuditTrail(AuditTrail):
    def __init__(self, events: list[SecurityEvent]) -> None:
        self._events = events

    async def record(self, event: SecurityEvent) -> None:
        self._events.append(event)

    async def erase(self, user_id: uuid.UUID) -> None:
        self._events[:] = [event for event in self._events if event.user_id != user_id]


class RecordingRevocations(SessionRevocations):
    """The denylist as a list of what it was told."""

    def __init__(self) -> None:
        self.told: list[uuid.UUID] = []

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return session_id in self.told

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        self.told.extend(session_ids)

    async def sync(self, interval_seconds: float) -> int:
        return 0


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


class InMemoryAuthUnitOfWork(_InMemoryUnitOfWork[_AuthState], AuthUnitOfWork):
    def __init__(self) -> None:
        super().__init__(_AuthState())

    def _attach(self, state: _AuthState) -> None:
        self.sessions = InMemorySessionRepository(state)
        self.refresh_tokens = InMemoryRefreshTokenRepository(state)
        self.mfa = InMemoryMfaRepository(state)
        self.challenges = InMemoryMfaChallengeRepository(state)
        self.mfa_summary = InMemoryMfaSummaryRecorder(state)
        self.audit = InMemoryAuditTrail(state.events)
        self.outbox = InMemoryMailOutbox(state.mails)

    @property
    def sessions_by_id(self) -> dict[uuid.UUID, Session]:
        return self.committed.sessions

    @property
    def events(self) -> list[SecurityEvent]:
        return self.committed.events


class FakeAccessTokenIssuer(AccessTokenIssuer):
    def __init__(self) -> None:
        self.issued: list[AccessClaims] = []

    def issue(self, claims: AccessClaims) -> str:
        self.issued.append(claims)
        return f"access-{len(self.issued)}"
