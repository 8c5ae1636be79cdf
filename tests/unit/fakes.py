"""Fakes for use-case unit tests: in-memory adapters that subclass the real ports."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from gatehouse.modules.accounts.application.ports import (
    AccountsUnitOfWork,
    OneTimeTokenRepository,
    PasswordHasher,
    UserRepository,
)
from gatehouse.modules.accounts.application.views import UserView, UserViews
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered
from gatehouse.modules.accounts.domain.events import MfaSummaryChanged
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
from gatehouse.modules.auth.domain.mfa import MfaChallenge, UserMfa
from gatehouse.modules.auth.domain.model import AccessClaims, RefreshToken, Session
from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail
from gatehouse.shared.clock import Clock
from gatehouse.shared.events import DomainEvent
from gatehouse.shared.messagebus import Subscription


class FixedClock(Clock):
    def __init__(self, now: datetime | None = None) -> None:
        self._now = now or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass
class _Recorded:
    """The events a unit of work recorded, and the views tests read of them."""

    recorded: list[DomainEvent] = field(default_factory=list)

    @property
    def mails(self) -> list[OutgoingMail]:
        return [event for event in self.recorded if isinstance(event, OutgoingMail)]

    @property
    def events(self) -> list[SecurityEvent]:
        return [event for event in self.recorded if isinstance(event, SecurityEvent)]


@dataclass
class _AccountsState(_Recorded):
    """What an in-memory "database" holds; copied in and out to mimic transactions."""

    users: dict[uuid.UUID, User] = field(default_factory=dict)
    tokens: dict[uuid.UUID, OneTimeToken] = field(default_factory=dict)


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


StateT = TypeVar("StateT", bound=_Recorded)


class _InMemoryUnitOfWork(Generic[StateT]):
    """A unit of work over a copied state: changes become visible to the next one on commit.

    Recorded events are kept in the state (in-transaction handlers write where a test reads:
    ``mails``, ``events``); ``after_commit`` subscriptions (the real ones) run after a commit.
    """

    committed: StateT

    def __init__(self, committed: StateT, after_commit: Sequence[Subscription[Any]] = ()) -> None:
        self.committed = committed
        self.commits = 0
        self._after_commit = [s for s in after_commit if s.after_commit is not None]

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

    def record(self, event: DomainEvent) -> None:
        self._working.recorded.append(event)

    async def commit(self) -> None:
        new = self._working.recorded[len(self.committed.recorded) :]
        self.committed = copy.deepcopy(self._working)
        self.commits += 1
        for event in new:
            for subscription in self._after_commit:
                if isinstance(event, subscription.event) and subscription.after_commit:
                    await subscription.after_commit(event)


class InMemoryAccountsUnitOfWork(_InMemoryUnitOfWork[_AccountsState], AccountsUnitOfWork):
    def __init__(self, committed: _AccountsState | None = None) -> None:
        super().__init__(committed if committed is not None else _AccountsState())

    def _attach(self, state: _AccountsState) -> None:
        self.users = InMemoryUserRepository(state)
        self.tokens = InMemoryOneTimeTokenRepository(state)

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
class _AuthState(_Recorded):
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


class FakeAccessTokenIssuer(AccessTokenIssuer):
    def __init__(self) -> None:
        self.issued: list[AccessClaims] = []

    def issue(self, claims: AccessClaims) -> str:
        self.issued.append(claims)
        return f"access-{len(self.issued)}"


class InMemoryUserViews(UserViews):
    """The read side over a fake unit of work's committed users."""

    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow = uow

    async def get(self, user_id: uuid.UUID) -> UserView | None:
        user = self._uow.committed.users.get(user_id)
        if user is None:
            return None
        return UserView(
            id=user.id,
            email=user.email.value,
            email_verified=user.email_verified,
            display_name=user.display_name.value if user.display_name else None,
            roles=user.roles,
            is_active=user.is_active,
            created_at=user.created_at,
            locale=user.locale,
            mfa=user.mfa,
        )
