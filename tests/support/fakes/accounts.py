"""Fakes for the accounts module's ports (contracts: tests/contract/test_accounts_unit_of_work.py,
tests/contract/test_identity_repository.py, tests/contract/test_account_directory.py and
tests/contract/test_user_views.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gatehouse.modules.accounts.application.ports import (
    AccountsUnitOfWork,
    IdentityRepository,
    OneTimeTokenRepository,
    PasswordHasher,
    UserRepository,
)
from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountProfile,
    AccountSnapshot,
    InvalidCredentials,
    ReauthFailed,
)
from gatehouse.modules.accounts.application.views import (
    IdentityView,
    IdentityViews,
    UserView,
    UserViews,
)
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered, IdentityLinkConflict
from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import (
    Email,
    MfaSummary,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
    User,
)
from gatehouse.modules.notifications.application.public import OutgoingMail
from tests.support.fakes.uow import InMemoryUnitOfWork, Recorded


@dataclass
class _AccountsState(Recorded):
    """What an in-memory "database" holds; copied in and out to mimic transactions."""

    users: dict[uuid.UUID, User] = field(default_factory=dict)
    tokens: dict[uuid.UUID, OneTimeToken] = field(default_factory=dict)
    identities: dict[uuid.UUID, Identity] = field(default_factory=dict)


class InMemoryUserRepository(UserRepository):
    def __init__(self, state: _AccountsState) -> None:
        self._state = state

    async def add(self, user: User) -> None:
        if any(other.email == user.email for other in self._state.users.values()):
            raise EmailAlreadyRegistered
        self._state.users[user.id] = user

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        return self._state.users.get(user_id)

    async def get_by_email(self, email: Email, *, for_update: bool = False) -> User | None:
        return next((u for u in self._state.users.values() if u.email == email), None)

    async def add_unregistered(self, users: Sequence[User]) -> frozenset[Email]:
        taken = {u.email for u in self._state.users.values()}
        added = [user for user in users if user.email not in taken]
        self._state.users.update((user.id, user) for user in added)
        return frozenset(user.email for user in added)

    async def delete(self, user: User) -> None:
        del self._state.users[user.id]
        for token_id in [t.id for t in self._state.tokens.values() if t.user_id == user.id]:
            del self._state.tokens[token_id]
        for gone in [i.id for i in self._state.identities.values() if i.user_id == user.id]:
            del self._state.identities[gone]  # as ON DELETE CASCADE


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


class InMemoryIdentityRepository(IdentityRepository):
    def __init__(self, state: _AccountsState) -> None:
        self._state = state

    async def add(self, identity: Identity) -> None:
        for other in self._state.identities.values():
            if (other.issuer, other.subject) == (identity.issuer, identity.subject) or (
                other.user_id,
                other.provider,
            ) == (identity.user_id, identity.provider):
                raise IdentityLinkConflict
        self._state.identities[identity.id] = identity

    async def get(self, issuer: str, subject: str, *, for_update: bool = False) -> Identity | None:
        return next(
            (
                i
                for i in self._state.identities.values()
                if (i.issuer, i.subject) == (issuer, subject)
            ),
            None,
        )

    async def of_user(self, user_id: uuid.UUID) -> list[Identity]:
        mine = [i for i in self._state.identities.values() if i.user_id == user_id]
        return sorted(mine, key=lambda i: i.id)

    async def remove(self, identity: Identity) -> None:
        self._state.identities.pop(identity.id, None)


class InMemoryAccountsUnitOfWork(InMemoryUnitOfWork[_AccountsState], AccountsUnitOfWork):
    def __init__(self, committed: _AccountsState | None = None) -> None:
        super().__init__(committed if committed is not None else _AccountsState())

    def _attach(self, state: _AccountsState) -> None:
        self.users = InMemoryUserRepository(state)
        self.tokens = InMemoryOneTimeTokenRepository(state)
        self.identities = InMemoryIdentityRepository(state)

    @property
    def mails(self) -> list[OutgoingMail]:
        return self.committed.mails


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


class InMemoryIdentityViews(IdentityViews):
    """The identities list over a fake unit of work's committed identities."""

    def __init__(self, uow: InMemoryAccountsUnitOfWork) -> None:
        self._uow = uow

    async def of_user(
        self, user_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[IdentityView]:
        mine = sorted(
            (
                i
                for i in self._uow.committed.identities.values()
                if i.user_id == user_id and (before is None or i.id < before)
            ),
            key=lambda i: i.id,
            reverse=True,
        )
        return [
            IdentityView(i.id, i.provider, i.email, i.created_at, i.last_used_at)
            for i in mine[:limit]
        ]


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


class FakeAccountDirectory(AccountDirectory):
    """One account, as auth sees it through accounts' facade with verification not required.
    ``active`` and ``reauthenticated`` let a test disable it (it then signs in no more) and
    count password checks. ``others``: more accounts ``get`` finds (without a password), for
    a module that looks several up (organizations)."""

    def __init__(
        self,
        user_id: uuid.UUID,
        *,
        password: str,
        email: str = "ada@example.com",
        roles: tuple[str, ...] = ("user",),
        email_verified: bool = True,
    ) -> None:
        self.user_id = user_id
        self.password = password
        self.email = email
        self.roles = roles
        self.email_verified = email_verified
        self.active = True
        self.reauthenticated = 0
        self.display_name: str | None = None
        self.created_at = datetime(2026, 1, 1, tzinfo=UTC)
        self.others: dict[uuid.UUID, AccountSnapshot] = {}

    def _snapshot(self) -> AccountSnapshot:
        return AccountSnapshot(
            self.user_id, self.email, self.roles, self.active, self.email_verified
        )

    def _accepts(self, user_id: uuid.UUID, password: str) -> bool:
        """As ``AccountsDirectory``: a disabled account's right password is refused too."""
        return user_id == self.user_id and password == self.password and self.active

    async def authenticate(self, email: str, password: str) -> AccountSnapshot:
        if Email.normalise(email) != self.email or not self._accepts(self.user_id, password):
            raise InvalidCredentials
        return self._snapshot()

    async def reauthenticate(self, user_id: uuid.UUID, password: str) -> AccountSnapshot:
        self.reauthenticated += 1
        if not self._accepts(user_id, password):
            raise ReauthFailed
        return self._snapshot()

    async def get(self, user_id: uuid.UUID) -> AccountSnapshot | None:
        return self._snapshot() if user_id == self.user_id else self.others.get(user_id)

    def add(self, email: str, *, email_verified: bool = True) -> uuid.UUID:
        """Another account (``others``); its id."""
        user_id = uuid.uuid4()
        self.others[user_id] = AccountSnapshot(user_id, email, ("user",), True, email_verified)
        return user_id

    async def profile(self, user_id: uuid.UUID) -> AccountProfile | None:
        if user_id != self.user_id:
            return None
        return AccountProfile(self._snapshot(), self.display_name, self.created_at, MfaSummary())
