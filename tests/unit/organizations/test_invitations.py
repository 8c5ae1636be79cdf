"""Inviting by mail and accepting: owners only, the invited verified address only, once, for
seven days."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.public import EmailNotVerified
from gatehouse.modules.organizations.application.invitations import (
    AcceptInvitation,
    InviteMember,
    hash_token,
)
from gatehouse.modules.organizations.application.organizations import ListMyOrganizations
from gatehouse.modules.organizations.domain.errors import (
    InvalidEmail,
    InvitationForAnotherAddress,
    InvitationInvalid,
    OrganizationNotFound,
    OwnerRequired,
)
from gatehouse.modules.organizations.domain.model import Role
from tests.unit.organizations.conftest import World


async def test_an_owner_invites_an_address_with_a_mailed_single_use_link(world: World) -> None:
    org = (await world.organization(world.ada, "Engines")).organization
    invite = InviteMember(org.id, " Bob@Example.COM ", Role.OWNER, world.ada, locale="de")

    invitation = await world.app.invite()(invite)

    [mail] = world.uow.committed.mails
    assert (mail.to, mail.template, mail.locale) == (
        "bob@example.com",
        "organization_invitation",
        "de",
    )
    assert mail.params["organization"] == "Engines"
    assert mail.params["inviter"] == "ada@example.com"
    assert mail.params["days"] == "7"
    assert mail.params["link"].startswith("https://app.example.com/accept-invitation?token=")
    token = world.mailed_token()
    stored = world.uow.state.invitations[invitation.id]
    assert stored.token_hash == hash_token(token)  # the token itself is not kept
    assert (stored.email, stored.role) == ("bob@example.com", Role.OWNER)
    assert stored.expires_at == world.clock.now() + timedelta(days=7)


async def test_only_an_owner_may_invite(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = await world.join(org.id, "bob@example.com", by=world.ada)
    outsider = world.account("eve@example.com")
    invite = world.app.invite()

    with pytest.raises(OwnerRequired):
        await invite(InviteMember(org.id, "cy@example.com", Role.MEMBER, bob))
    with pytest.raises(OrganizationNotFound):
        await invite(InviteMember(org.id, "cy@example.com", Role.MEMBER, outsider))
    assert len(world.uow.committed.mails) == 1  # bob's own invitation only


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "a..b@example.com",
        "a b@example.com",
        "@example.com",
        "x" * 65 + "@example.com",
    ],
)
async def test_an_invitation_to_something_that_is_no_address_is_refused(
    world: World, email: str
) -> None:
    org = (await world.organization(world.ada)).organization
    with pytest.raises(InvalidEmail):
        await world.app.invite()(InviteMember(org.id, email, Role.MEMBER, world.ada))


async def test_accepting_makes_the_invited_user_a_member_with_the_invited_role(
    world: World,
) -> None:
    org = (await world.organization(world.ada, "Engines")).organization
    bob = world.account("bob@example.com")
    token = await world.invite(org.id, "bob@example.com", by=world.ada, role=Role.OWNER)

    joined = await world.app.accept()(AcceptInvitation(token, bob))

    assert (joined.organization.id, joined.role) == (org.id, Role.OWNER)
    mine = await world.app.list_mine()(ListMyOrganizations(bob))
    assert [(m.organization.name, m.role) for m in mine.items] == [("Engines", Role.OWNER)]


async def test_a_token_works_once(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = world.account("bob@example.com")
    token = await world.invite(org.id, "bob@example.com", by=world.ada)
    accept = world.app.accept()
    await accept(AcceptInvitation(token, bob))

    with pytest.raises(InvitationInvalid):
        await accept(AcceptInvitation(token, bob))


async def test_an_invitation_expires_after_seven_days(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = world.account("bob@example.com")
    token = await world.invite(org.id, "bob@example.com", by=world.ada)

    world.clock.advance(timedelta(days=7))

    with pytest.raises(InvitationInvalid):
        await world.app.accept()(AcceptInvitation(token, bob))


async def test_an_unknown_token_is_invalid(world: World) -> None:
    with pytest.raises(InvitationInvalid):
        await world.app.accept()(AcceptInvitation("no-such-token", world.ada))


async def test_someone_else_with_the_link_is_refused_and_the_invitation_stays_usable(
    world: World,
) -> None:
    org = (await world.organization(world.ada)).organization
    bob = world.account("bob@example.com")
    eve = world.account("eve@example.com")
    token = await world.invite(org.id, "bob@example.com", by=world.ada)
    accept = world.app.accept()

    with pytest.raises(InvitationForAnotherAddress):
        await accept(AcceptInvitation(token, eve))
    with pytest.raises(InvitationForAnotherAddress):
        await accept(AcceptInvitation(token, uuid.uuid4()))  # an account that is gone
    assert (await accept(AcceptInvitation(token, bob))).role is Role.MEMBER


async def test_an_unverified_address_cannot_accept(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    bob = world.account("bob@example.com", verified=False)
    token = await world.invite(org.id, "bob@example.com", by=world.ada)

    with pytest.raises(EmailNotVerified):
        await world.app.accept()(AcceptInvitation(token, bob))
    assert (org.id, bob) not in world.uow.state.memberships


async def test_a_member_accepting_again_keeps_the_role_they_have(world: World) -> None:
    org = (await world.organization(world.ada)).organization
    token = await world.invite(org.id, "ada@example.com", by=world.ada, role=Role.MEMBER)

    joined = await world.app.accept()(AcceptInvitation(token, world.ada))

    assert joined.role is Role.OWNER
