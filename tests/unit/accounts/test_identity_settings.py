"""The signed-in user's identities: the list, and unlinking one (the last way to sign in is
refused before any proof is asked for)."""

from __future__ import annotations

import uuid

import pytest
from dependency_injector import providers

from gatehouse.modules.accounts.application.identities import IdentityLinks
from gatehouse.modules.accounts.application.identity_settings import (
    ListIdentities,
    ListIdentitiesHandler,
    UnlinkIdentity,
    UnlinkIdentityHandler,
)
from gatehouse.modules.accounts.application.public import ExternalIdentity, Requester
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.domain.errors import (
    IdentityNotFound,
    LastSignInMethod,
    ReauthFailed,
)
from gatehouse.modules.accounts.domain.model import PasswordHash
from gatehouse.shared.step_up import StepUpProof
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryAccountsUnitOfWork, InMemoryIdentityViews

ISSUER = "https://accounts.example.com"
WHO = Requester(ip="203.0.113.9", user_agent="Firefox")


def identity(provider: str, subject: str) -> ExternalIdentity:
    return ExternalIdentity(provider, ISSUER, subject, "ada@example.com", True)


class Proofs:
    """The step-up a route would run: counts how often it was asked for."""

    def __init__(self, clock: FixedClock, user_id: uuid.UUID | None = None) -> None:
        self.clock = clock
        self.user_id = user_id
        self.asked = 0
        self.wrong = False

    async def __call__(self) -> StepUpProof:
        self.asked += 1
        if self.wrong:
            raise ReauthFailed
        assert self.user_id is not None
        return StepUpProof(self.user_id, "totp", self.clock.now())


@pytest.fixture
def identities(accounts: AccountsContainer) -> IdentityLinks:
    handler: IdentityLinks = accounts.identities()
    return handler


@pytest.fixture
def unlink(accounts: AccountsContainer) -> UnlinkIdentityHandler:
    handler: UnlinkIdentityHandler = accounts.unlink_identity()
    return handler


async def social_only(identities: IdentityLinks, *providers: str) -> uuid.UUID:
    """A passwordless account (its first sign-in) with an identity of each provider."""
    account = await identities.sign_in(identity(providers[0], "first"), WHO)
    for provider in providers[1:]:
        await identities.link(account.user_id, identity(provider, f"{provider}-sub"), WHO)
    return account.user_id


async def test_the_last_way_to_sign_in_is_refused_before_any_proof_is_asked_for(
    identities: IdentityLinks,
    unlink: UnlinkIdentityHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    user_id = await social_only(identities, "google")
    proofs = Proofs(clock, user_id)

    with pytest.raises(LastSignInMethod):
        await unlink(UnlinkIdentity(user_id, "google", proofs))

    assert proofs.asked == 0
    assert len(uow.committed.identities) == 1


async def test_an_unlinked_provider_is_not_found_before_any_proof_is_asked_for(
    identities: IdentityLinks, unlink: UnlinkIdentityHandler, clock: FixedClock
) -> None:
    user_id = await social_only(identities, "google", "github")
    proofs = Proofs(clock, user_id)

    with pytest.raises(IdentityNotFound):
        await unlink(UnlinkIdentity(user_id, "gitlab", proofs))
    with pytest.raises(IdentityNotFound):
        await unlink(UnlinkIdentity(uuid.uuid4(), "google", proofs))
    assert proofs.asked == 0


async def test_one_of_two_identities_is_unlinked_with_a_proof_and_then_the_other_is_the_last(
    identities: IdentityLinks,
    unlink: UnlinkIdentityHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    user_id = await social_only(identities, "google", "github")
    uow.committed.recorded.clear()
    proofs = Proofs(clock, user_id)

    await unlink(UnlinkIdentity(user_id, "google", proofs, WHO))

    assert proofs.asked == 1
    assert [i.provider for i in uow.committed.identities.values()] == ["github"]
    [event] = uow.committed.events
    assert (event.type, event.user_id, event.details) == (
        "account.identity_unlinked",
        user_id,
        {"provider": "google"},
    )
    assert (event.ip, event.user_agent) == ("203.0.113.9", "Firefox")
    [mail] = uow.mails
    assert (mail.to, mail.template, mail.params["provider"]) == (
        "ada@example.com",
        "identity_unlinked",
        "google",
    )
    with pytest.raises(LastSignInMethod):
        await unlink(UnlinkIdentity(user_id, "github", proofs))


async def test_an_account_with_a_password_can_unlink_its_only_identity(
    identities: IdentityLinks,
    unlink: UnlinkIdentityHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    user_id = await social_only(identities, "google")
    uow.committed.users[user_id].change_password(PasswordHash("fake1$pw"), clock.now())

    await unlink(UnlinkIdentity(user_id, "google", Proofs(clock, user_id)))

    assert uow.committed.identities == {}


async def test_a_wrong_proof_or_another_users_unlinks_nothing(
    identities: IdentityLinks,
    unlink: UnlinkIdentityHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    user_id = await social_only(identities, "google", "github")
    wrong = Proofs(clock, user_id)
    wrong.wrong = True

    with pytest.raises(ReauthFailed):
        await unlink(UnlinkIdentity(user_id, "google", wrong))
    with pytest.raises(ReauthFailed):
        await unlink(UnlinkIdentity(user_id, "google", Proofs(clock, uuid.uuid4())))

    assert len(uow.committed.identities) == 2


async def test_the_list_shows_the_users_identities_newest_first_a_page_at_a_time(
    identities: IdentityLinks,
    accounts: AccountsContainer,
    uow: InMemoryAccountsUnitOfWork,
) -> None:
    accounts.identity_views.override(providers.Object(InMemoryIdentityViews(uow)))
    listing: ListIdentitiesHandler = accounts.list_identities()
    user_id = await social_only(identities, "google", "github", "gitlab")
    await identities.sign_in(
        ExternalIdentity("google", ISSUER, "bob", "bob@example.com", True), WHO
    )

    first = await listing(ListIdentities(user_id, limit=2))
    rest = await listing(ListIdentities(user_id, limit=2, before=first.next_before))

    assert [v.provider for v in first.items] == ["gitlab", "github"]
    assert first.next_before == first.items[-1].id
    assert [v.provider for v in rest.items] == ["google"]
    assert rest.next_before is None
    assert rest.items[0].email == "ada@example.com"
