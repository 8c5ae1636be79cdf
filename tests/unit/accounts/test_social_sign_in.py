"""Social login, accounts' side (``ExternalIdentities``): which account a verified provider
identity signs in to, and linking one from settings; through the container's real wiring with
the in-memory unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from gatehouse.modules.accounts.application.email_change import RequestEmailChange
from gatehouse.modules.accounts.application.identities import IdentityLinks, once_more
from gatehouse.modules.accounts.application.public import ExternalIdentity, Requester
from gatehouse.modules.accounts.application.register import RegisterUser
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.domain.errors import (
    AccountExists,
    EmailAlreadyRegistered,
    IdentityEmailUnverified,
    IdentityLinkConflict,
    SignInRefused,
)
from gatehouse.modules.accounts.domain.events import AccountTakenOver
from gatehouse.modules.accounts.domain.model import DisplayName, Email, User
from gatehouse.shared.step_up import StepUpProof
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryAccountsUnitOfWork
from tests.unit.accounts.conftest import PASSWORD

ISSUER = "https://accounts.example.com"
WHO = Requester(ip="203.0.113.9", user_agent="Firefox", locale="de")


def google(
    subject: str = "sub-1",
    email: str | None = "ada@example.com",
    *,
    verified: bool = True,
    name: str | None = "Ada Lovelace",
    issuer: str = ISSUER,
    provider: str = "google",
) -> ExternalIdentity:
    return ExternalIdentity(provider, issuer, subject, email, verified, name)


@pytest.fixture
def identities(accounts: AccountsContainer) -> IdentityLinks:
    handler: IdentityLinks = accounts.identities()
    return handler


def only_user(uow: InMemoryAccountsUnitOfWork) -> User:
    [user] = uow.committed.users.values()
    return user


async def registered(accounts: AccountsContainer, uow: InMemoryAccountsUnitOfWork) -> User:
    """ada@example.com, registered with a password, the address not verified yet."""
    await accounts.register_user()(RegisterUser("ada@example.com", PASSWORD, "Squatter"))
    uow.committed.recorded.clear()
    return next(u for u in uow.committed.users.values() if u.email == Email("ada@example.com"))


async def verified(accounts: AccountsContainer, uow: InMemoryAccountsUnitOfWork) -> User:
    user = await registered(accounts, uow)
    uow.committed.users[user.id].mark_email_verified(user.created_at)
    return user


async def test_a_verified_unknown_email_signs_up_a_verified_account_without_a_password(
    identities: IdentityLinks, uow: InMemoryAccountsUnitOfWork, clock: FixedClock
) -> None:
    account = await identities.sign_in(google(email=" Ada@Example.COM "), WHO)

    user = only_user(uow)
    assert (account.user_id, account.email, account.email_verified) == (
        user.id,
        "ada@example.com",
        True,
    )
    assert account.roles == ("user",)
    assert user.password_hash is None
    assert user.display_name == DisplayName("Ada Lovelace")
    [identity] = uow.committed.identities.values()
    assert (identity.user_id, identity.provider, identity.issuer, identity.subject) == (
        user.id,
        "google",
        ISSUER,
        "sub-1",
    )
    assert (identity.email, identity.created_at, identity.last_used_at) == (
        "ada@example.com",
        clock.now(),
        clock.now(),
    )
    registered, event = uow.committed.events
    assert (registered.type, registered.user_id, registered.details) == (
        "account.registered",
        user.id,
        {"method": "social:google"},
    )
    assert (event.type, event.user_id, event.ip, event.user_agent) == (
        "account.identity_linked",
        user.id,
        "203.0.113.9",
        "Firefox",
    )
    assert event.details == {"provider": "google", "how": "sign_up"}
    assert uow.mails == []  # the sign-up is the news: no notice of its first link


@pytest.mark.parametrize("name", [None, "   ", "x" * 101, "bad\x00name"])
async def test_a_name_the_provider_gives_that_is_not_valid_leaves_the_account_unnamed(
    identities: IdentityLinks, uow: InMemoryAccountsUnitOfWork, name: str | None
) -> None:
    await identities.sign_in(google(name=name), WHO)
    assert only_user(uow).display_name is None


async def test_a_linked_identity_signs_in_to_its_account_whatever_its_email_says_now(
    identities: IdentityLinks, uow: InMemoryAccountsUnitOfWork, clock: FixedClock
) -> None:
    first = await identities.sign_in(google(), WHO)
    clock.advance(timedelta(days=3))

    again = await identities.sign_in(google(email="ada@elsewhere.example", verified=False), WHO)

    assert again == first
    [identity] = uow.committed.identities.values()
    assert identity.last_used_at == clock.now()
    assert identity.email == "ada@elsewhere.example"  # shown as the provider says it now
    assert len(uow.committed.users) == 1
    assert [e.type for e in uow.committed.events] == [
        "account.registered",
        "account.identity_linked",
    ]


async def test_identities_are_keyed_by_issuer_and_subject_never_by_email(
    identities: IdentityLinks, uow: InMemoryAccountsUnitOfWork
) -> None:
    await identities.sign_in(google(), WHO)

    with pytest.raises(AccountExists):  # the same subject at another issuer is someone else
        await identities.sign_in(google(issuer="https://other.example.com", verified=False), WHO)
    with pytest.raises(AccountExists):  # and another subject of the same issuer too
        await identities.sign_in(google(subject="sub-2", verified=False), WHO)
    assert len(uow.committed.identities) == 1


@pytest.mark.parametrize(
    "identity",
    [
        google(email=None),
        google(verified=False),
        google(email="not an address"),
        google(email=None, verified=False),
    ],
    ids=["no email", "unverified", "invalid email", "neither"],
)
async def test_without_an_email_the_provider_vouches_for_nothing_is_created(
    identities: IdentityLinks, uow: InMemoryAccountsUnitOfWork, identity: ExternalIdentity
) -> None:
    with pytest.raises(IdentityEmailUnverified):
        await identities.sign_in(identity, WHO)
    assert uow.commits == 0


async def test_an_unverified_provider_email_never_links_the_account_that_has_it(
    identities: IdentityLinks, accounts: AccountsContainer, uow: InMemoryAccountsUnitOfWork
) -> None:
    user = await verified(accounts, uow)

    with pytest.raises(AccountExists):
        await identities.sign_in(google(verified=False), WHO)

    assert uow.committed.identities == {}
    assert uow.committed.users[user.id].password_hash is not None


async def test_a_verified_email_links_the_verified_account_that_has_it_and_notifies_it(
    identities: IdentityLinks, accounts: AccountsContainer, uow: InMemoryAccountsUnitOfWork
) -> None:
    user = await verified(accounts, uow)
    password = user.password_hash

    account = await identities.sign_in(google(name="Someone Else"), WHO)

    assert account.user_id == user.id
    kept = uow.committed.users[user.id]
    assert (kept.password_hash, kept.display_name) == (password, DisplayName("Squatter"))
    [identity] = uow.committed.identities.values()
    assert identity.user_id == user.id
    [event] = uow.committed.events
    assert event.details == {"provider": "google", "how": "email_match"}
    [mail] = uow.mails
    assert (mail.to, mail.template, mail.locale) == ("ada@example.com", "identity_linked", "de")
    assert (mail.params["provider"], mail.params["taken_over"]) == ("google", "")
    assert not any(isinstance(e, AccountTakenOver) for e in uow.committed.recorded)


async def test_an_account_with_another_identity_of_that_provider_is_not_linked_by_email(
    identities: IdentityLinks, accounts: AccountsContainer, uow: InMemoryAccountsUnitOfWork
) -> None:
    user = await verified(accounts, uow)
    await identities.link(user.id, google(subject="old", email="ada@old.example"), WHO)

    with pytest.raises(AccountExists):
        await identities.sign_in(google(subject="new"), WHO)
    assert [i.subject for i in uow.committed.identities.values()] == ["old"]


async def test_a_disabled_account_is_refused_whichever_way_it_is_found(
    identities: IdentityLinks,
    accounts: AccountsContainer,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    user = await verified(accounts, uow)
    await identities.link(user.id, google(subject="linked"), WHO)
    uow.committed.users[user.id].set_active(False, clock.now())

    with pytest.raises(SignInRefused):
        await identities.sign_in(google(subject="linked"), WHO)
    with pytest.raises(SignInRefused):
        await identities.sign_in(google(subject="by-email", provider="github"), WHO)


async def test_a_verified_identity_takes_over_an_account_whose_address_was_never_verified(
    identities: IdentityLinks,
    accounts: AccountsContainer,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    squatter = await registered(accounts, uow)  # a pending verification link
    uow.committed.users[squatter.id].prefer_locale("en", clock.now())
    proof = StepUpProof(squatter.id, "pwd", clock.now())
    await accounts.request_email_change()(
        RequestEmailChange(squatter.id, "squatter@example.net", proof)
    )
    await identities.link(squatter.id, google(subject="squatters", provider="github"), WHO)
    uow.committed.recorded.clear()

    account = await identities.sign_in(google(name="Ada Lovelace"), WHO)

    assert account.user_id == squatter.id
    assert account.email_verified
    user = uow.committed.users[squatter.id]
    assert user.password_hash is None
    assert user.email == Email("ada@example.com")
    assert (user.display_name, user.locale) == (DisplayName("Ada Lovelace"), None)
    assert all(token.used_at is not None for token in uow.committed.tokens.values())
    assert len(uow.committed.tokens) == 2  # the verification and the email change, both void
    assert [(i.provider, i.subject) for i in uow.committed.identities.values()] == [
        ("google", "sub-1")
    ]
    [taken] = [e for e in uow.committed.recorded if isinstance(e, AccountTakenOver)]
    assert (taken.user_id, taken.provider) == (squatter.id, "google")
    assert [(e.type, e.details) for e in uow.committed.events] == [
        ("account.identity_unlinked", {"provider": "github"}),
        ("account.identity_linked", {"provider": "google", "how": "take_over"}),
    ]
    [mail] = uow.mails
    assert (mail.to, mail.template, mail.locale) == ("ada@example.com", "identity_linked", "de")
    assert mail.params["taken_over"] == "1"


async def test_linking_from_settings_links_whatever_the_emails_say_once(
    identities: IdentityLinks,
    accounts: AccountsContainer,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    user = await registered(accounts, uow)  # not even verified: the user proved both ends
    other = google(email="someone@else.example", verified=False)

    await identities.link(user.id, other, WHO)
    await identities.link(user.id, other, WHO)  # again: nothing more

    [identity] = uow.committed.identities.values()
    assert (identity.user_id, identity.email, identity.last_used_at) == (
        user.id,
        "someone@else.example",
        None,
    )
    assert identity.created_at == clock.now()
    [event] = uow.committed.events
    assert event.details == {"provider": "google", "how": "settings"}
    [mail] = uow.mails
    assert (mail.to, mail.template) == ("ada@example.com", "identity_linked")
    assert (await identities.sign_in(other, WHO)).user_id == user.id


async def test_linking_refuses_another_accounts_identity_a_second_of_a_provider_and_the_disabled(
    identities: IdentityLinks,
    accounts: AccountsContainer,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
) -> None:
    theirs = await identities.sign_in(google(email="bob@example.com"), WHO)
    user = await verified(accounts, uow)

    with pytest.raises(AccountExists):  # it signs in to Bob's account
        await identities.link(user.id, google(), WHO)
    await identities.link(user.id, google(subject="mine"), WHO)
    with pytest.raises(AccountExists):  # one identity per provider
        await identities.link(user.id, google(subject="another"), WHO)
    uow.committed.users[theirs.user_id].set_active(False, clock.now())
    with pytest.raises(SignInRefused):
        await identities.link(theirs.user_id, google(subject="x", provider="github"), WHO)
    with pytest.raises(SignInRefused):
        await identities.link(uuid.uuid4(), google(subject="y"), WHO)
    assert sorted(i.subject for i in uow.committed.identities.values()) == ["mine", "sub-1"]


async def test_a_link_a_concurrent_request_committed_first_is_tried_once_more() -> None:
    def raced(*failures: Exception) -> Callable[[], Awaitable[str]]:
        """An attempt that fails with ``failures``, one per call, then succeeds."""
        left = list(failures)

        async def attempt() -> str:
            if left:
                raise left.pop(0)
            return "the account the winner linked"

        return attempt

    assert await once_more(raced(IdentityLinkConflict())) == "the account the winner linked"
    assert await once_more(raced(EmailAlreadyRegistered())) == "the account the winner linked"
    with pytest.raises(IdentityLinkConflict):  # an AccountExists to the caller
        await once_more(raced(IdentityLinkConflict(), IdentityLinkConflict()))
    with pytest.raises(AccountExists):  # the address was registered meanwhile, twice
        await once_more(raced(EmailAlreadyRegistered(), EmailAlreadyRegistered()))
    with pytest.raises(SignInRefused):  # anything else is not retried
        await once_more(raced(SignInRefused()))
