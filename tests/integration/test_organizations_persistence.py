"""An account's deletion reaches organizations through accounts' ``AccountDeleted``, handled
in accounts' transaction: the memberships go with the account, or stay with it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.application.public import AccountDeleted
from gatehouse.modules.organizations.domain.model import Membership, Organization, Role
from gatehouse.shared.events import DomainEvent
from gatehouse.shared.ids import new_id
from gatehouse.shared.messagebus import UnhandledEvent
from tests.support.builders import T0, a_user
from tests.support.uow import accounts_uow, organizations_uow


@dataclass(frozen=True, slots=True, kw_only=True)
class NobodyListens(DomainEvent):
    """Fails the commit after organizations' handler ran (``UnhandledEvent``)."""


async def _organization(
    factory: async_sessionmaker[AsyncSession], owner: uuid.UUID, member: uuid.UUID
) -> Organization:
    organization = Organization.create("Engines", T0)
    async with organizations_uow(factory)() as tx:
        await tx.organizations.add(organization)
        for minutes, (user_id, role) in enumerate([(owner, Role.OWNER), (member, Role.MEMBER)]):
            joined = T0 + timedelta(minutes=minutes)
            await tx.memberships.add(
                Membership(
                    organization_id=organization.id, user_id=user_id, role=role, created_at=joined
                )
            )
        await tx.commit()
    return organization


async def _delete_account(
    factory: async_sessionmaker[AsyncSession], user_id: uuid.UUID, *also: DomainEvent
) -> None:
    """What ``DeleteAccountHandler`` does, in accounts' unit of work."""
    async with accounts_uow(factory)() as tx:
        user = await tx.users.get(user_id, for_update=True)
        assert user is not None
        tx.record(AccountDeleted(user_id=user.id))
        for event in also:
            tx.record(event)
        await tx.users.delete(user)
        await tx.commit()


async def _roles(
    factory: async_sessionmaker[AsyncSession], organization: Organization
) -> dict[uuid.UUID, Role]:
    async with organizations_uow(factory)() as tx:
        members = await tx.memberships.of_organization(organization.id, limit=10, before=None)
    return {m.user_id: m.role for m in members}


async def test_deleting_an_account_ends_its_memberships_in_accounts_transaction(
    tx_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ada = a_user()
    async with accounts_uow(tx_session_factory)() as tx:
        await tx.users.add(ada)
        await tx.commit()
    bob = new_id()  # a member needs no row in accounts_user: there is no foreign key
    organization = await _organization(tx_session_factory, ada.id, bob)

    await _delete_account(tx_session_factory, ada.id)

    assert await _roles(tx_session_factory, organization) == {bob: Role.OWNER}


async def test_a_deletion_that_does_not_commit_leaves_the_memberships(
    tx_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    ada = a_user()
    async with accounts_uow(tx_session_factory)() as tx:
        await tx.users.add(ada)
        await tx.commit()
    bob = new_id()
    organization = await _organization(tx_session_factory, ada.id, bob)

    with pytest.raises(UnhandledEvent):
        await _delete_account(tx_session_factory, ada.id, NobodyListens())

    assert await _roles(tx_session_factory, organization) == {ada.id: Role.OWNER, bob: Role.MEMBER}
    async with accounts_uow(tx_session_factory)() as tx:
        assert await tx.users.get(ada.id) is not None
