"""SQLAlchemy repositories and the unit of work of the accounts module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.accounts.adapters.orm import (
    UNIQUE_EMAIL,
    UNIQUE_IDENTITY,
    UNIQUE_USER_PROVIDER,
    identity_table,
    one_time_token_table,
    user_table,
)
from gatehouse.modules.accounts.application.ports import (
    AccountsUnitOfWork,
    IdentityRepository,
    OneTimeTokenRepository,
    UserRepository,
)
from gatehouse.modules.accounts.domain.errors import EmailAlreadyRegistered, IdentityLinkConflict
from gatehouse.modules.accounts.domain.events import MfaSummaryChanged
from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import (
    Email,
    OneTimeToken,
    TokenPurpose,
    User,
)
from gatehouse.shared.messagebus import Subscription, Transaction
from gatehouse.shared.persistence import SqlAlchemyUnitOfWork


class SqlAlchemyUserRepository(UserRepository):
    """A locking read (``for_update``) also refreshes an object the session already holds
    (``populate_existing``): the lock is taken to act on the row as it is now, not as it was
    first read in this unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, user: User) -> None:
        self._session.add(user)
        await self._session.flush()  # surfaces the unique-email conflict here, in the UoW

    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(user_table.c.id == user_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def get_by_email(self, email: Email, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(user_table.c.email == email)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def add_unregistered(self, users: Sequence[User]) -> frozenset[Email]:
        if not users:
            return frozenset()
        rows = await self._session.execute(
            _ADD_UNREGISTERED,
            {
                "ids": [u.id for u in users],
                "emails": [u.email.value for u in users],
                "hashes": [
                    None if u.password_hash is None else u.password_hash.value for u in users
                ],
                "names": [None if u.display_name is None else u.display_name.value for u in users],
                "verified": [u.email_verified_at for u in users],
                "roles": [",".join(u.roles) for u in users],
                "created": [u.created_at for u in users],
            },
        )
        return frozenset(Email(email) for email in rows.scalars())

    async def delete(self, user: User) -> None:
        # One-time tokens and identities go with it (ON DELETE CASCADE).
        await self._session.delete(user)
        await self._session.flush()


# One statement for a whole batch: the columns travel as arrays (seven parameters whatever the
# batch size, one cached prepared statement), and the unique email constraint decides which rows
# are new. Role names hold no comma (``Role``), so a row's roles travel joined.
_ADD_UNREGISTERED = text(
    """
    INSERT INTO accounts_user
        (id, email, password_hash, display_name, email_verified_at, roles, created_at, updated_at)
    SELECT u.id, u.email, u.password_hash, u.display_name, u.verified_at,
           string_to_array(u.roles, ','), u.created, u.created
    FROM unnest(
        CAST(:ids AS uuid[]), CAST(:emails AS text[]), CAST(:hashes AS text[]),
        CAST(:names AS text[]), CAST(:verified AS timestamptz[]), CAST(:roles AS text[]),
        CAST(:created AS timestamptz[])
    ) AS u(id, email, password_hash, display_name, verified_at, roles, created)
    ON CONFLICT (email) DO NOTHING
    RETURNING email
    """
)


class SqlAlchemyOneTimeTokenRepository(OneTimeTokenRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, token: OneTimeToken) -> None:
        await self.void_unused(token.user_id, token.purpose, token.created_at)
        self._session.add(token)

    async def get_by_hash(self, purpose: TokenPurpose, token_hash: bytes) -> OneTimeToken | None:
        stmt = (
            select(OneTimeToken)
            .where(
                one_time_token_table.c.purpose == purpose,
                one_time_token_table.c.token_hash == token_hash,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def newest_usable(
        self, user_id: uuid.UUID, purpose: TokenPurpose, now: datetime
    ) -> OneTimeToken | None:
        t = one_time_token_table
        stmt = (
            select(OneTimeToken)
            .where(
                t.c.user_id == user_id,
                t.c.purpose == purpose,
                t.c.used_at.is_(None),
                t.c.expires_at > now,
            )
            .order_by(t.c.created_at.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def void_unused(
        self, user_id: uuid.UUID, purpose: TokenPurpose | None, now: datetime
    ) -> None:
        t = one_time_token_table
        of_purpose = t.c.purpose == purpose if purpose is not None else true()
        await self._session.execute(
            update(t)
            .where(t.c.user_id == user_id, of_purpose, t.c.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )


class SqlAlchemyIdentityRepository(IdentityRepository):
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, identity: Identity) -> None:
        self._session.add(identity)
        await self._session.flush()  # a unique conflict surfaces here, in the unit of work

    async def get(self, issuer: str, subject: str, *, for_update: bool = False) -> Identity | None:
        t = identity_table
        stmt = select(Identity).where(t.c.issuer == issuer, t.c.subject == subject)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def of_user(self, user_id: uuid.UUID) -> list[Identity]:
        t = identity_table
        stmt = select(Identity).where(t.c.user_id == user_id).order_by(t.c.id)
        return list((await self._session.execute(stmt)).scalars())

    async def remove(self, identity: Identity) -> None:
        await self._session.delete(identity)
        # Now, not at commit: a flush runs inserts before deletes, so a new link of the same
        # provider in this transaction would meet the old row.
        await self._session.flush()


async def _copy_mfa_summary(event: MfaSummaryChanged, tx: Transaction) -> None:
    """In the recording module's (auth's) transaction: the copy changes with the factors."""
    t = user_table
    await tx.session.execute(
        update(t)
        .where(t.c.id == event.user_id)
        .values(
            mfa_totp=event.summary.totp,
            mfa_email=event.summary.email,
            mfa_backup_codes=event.summary.backup_codes_remaining,
        )
        .execution_options(synchronize_session=False)
    )


def accounts_subscriptions() -> list[Subscription[Any]]:
    return [Subscription(MfaSummaryChanged, in_transaction=_copy_mfa_summary)]


class SqlAlchemyAccountsUnitOfWork(SqlAlchemyUnitOfWork, AccountsUnitOfWork):
    conflicts = {
        UNIQUE_EMAIL: EmailAlreadyRegistered,
        UNIQUE_IDENTITY: IdentityLinkConflict,
        UNIQUE_USER_PROVIDER: IdentityLinkConflict,
    }

    users: UserRepository
    tokens: OneTimeTokenRepository
    identities: IdentityRepository

    def _attach(self, session: AsyncSession) -> None:
        self.users = SqlAlchemyUserRepository(session)
        self.tokens = SqlAlchemyOneTimeTokenRepository(session)
        self.identities = SqlAlchemyIdentityRepository(session)
