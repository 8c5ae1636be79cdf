"""Fixtures of the organizations use-case tests: its container with one fake per port (the
unit of work, accounts' facade) and a clock the test moves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from gatehouse.modules.organizations.application.invitations import (
    AcceptInvitation,
    InviteMember,
)
from gatehouse.modules.organizations.application.organizations import (
    CreateOrganization,
    MyOrganization,
)
from gatehouse.modules.organizations.container import OrganizationsContainer
from gatehouse.modules.organizations.domain.model import Role
from tests.support.clock import FixedClock
from tests.support.containers import organizations_container
from tests.support.fakes import FakeAccountDirectory
from tests.support.fakes.organizations import InMemoryOrganizationsUnitOfWork


@dataclass
class World:
    """The module as the app builds it, over fakes; ``ada`` is a verified account."""

    app: OrganizationsContainer
    uow: InMemoryOrganizationsUnitOfWork
    accounts: FakeAccountDirectory
    clock: FixedClock

    @property
    def ada(self) -> uuid.UUID:
        return self.accounts.user_id

    def account(self, email: str, *, verified: bool = True) -> uuid.UUID:
        return self.accounts.add(email, email_verified=verified)

    async def organization(self, owner: uuid.UUID, name: str = "Engines") -> MyOrganization:
        return await self.app.create()(CreateOrganization(name, owner))

    async def invite(
        self, organization_id: uuid.UUID, email: str, *, by: uuid.UUID, role: Role = Role.MEMBER
    ) -> str:
        """The token the invitation mail carries."""
        await self.app.invite()(InviteMember(organization_id, email, role, by))
        return self.mailed_token()

    def mailed_token(self) -> str:
        link = self.uow.committed.mails[-1].params["link"]
        return parse_qs(urlsplit(link).query)["token"][0]

    async def join(
        self, organization_id: uuid.UUID, email: str, *, by: uuid.UUID, role: Role = Role.MEMBER
    ) -> uuid.UUID:
        """A new verified account, invited by ``by`` and accepted; its id."""
        user_id = self.account(email)
        token = await self.invite(organization_id, email, by=by, role=role)
        await self.app.accept()(AcceptInvitation(token, user_id))
        return user_id


@pytest.fixture
def world() -> World:
    clock = FixedClock()
    uow = InMemoryOrganizationsUnitOfWork()
    accounts = FakeAccountDirectory(uuid.uuid4(), password="unused", email="ada@example.com")
    app = organizations_container(clock=clock, uow=uow, accounts=accounts)
    return World(app, uow, accounts, clock)
