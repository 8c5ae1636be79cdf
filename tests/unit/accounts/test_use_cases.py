from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from gatehouse.modules.accounts.application.directory import AccountsDirectory
from gatehouse.modules.accounts.application.profile import UpdateProfile
from gatehouse.modules.accounts.application.register import (
    RegisterUser,
    RegisterUserHandler,
)
from gatehouse.modules.accounts.application.tokens import hash_secret
from gatehouse.modules.accounts.application.verify_email import VerifyEmail
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.domain.errors import (
    AccountGone,
    EmailNotVerified,
    InvalidCredentials,
    TokenInvalid,
    UnsupportedLocale,
    WeakPassword,
)
from gatehouse.modules.accounts.domain.model import (
    Email,
    OneTimeToken,
    PasswordHash,
    TokenPurpose,
)
from tests.support.clock import FixedClock
from tests.support.fakes import FakePasswordHasher, InMemoryAccountsUnitOfWork
from tests.unit.accounts.conftest import PASSWORD, build_accounts


def _token_from(uow: InMemoryAccountsUnitOfWork) -> str:
    link = uow.mails[-1].params["link"]
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_register_creates_an_unverified_user_and_queues_a_verification_mail(
    register: RegisterUserHandler, uow: InMemoryAccountsUnitOfWork
) -> None:
    await register(RegisterUser(" Ada@Example.com ", PASSWORD, "Ada"))

    [user] = uow.committed.users.values()
    assert user.email == Email("ada@example.com")
    assert not user.email_verified
    [mail] = uow.mails
    assert mail.to == "ada@example.com"
    assert mail.template == "verify_email"
    assert mail.params["link"].startswith("https://id.example.com/verify-email?token=")
    [token] = uow.committed.tokens.values()
    assert token.token_hash == hash_secret(_token_from(uow))  # only the hash is stored
    assert token.expires_at - token.created_at == timedelta(hours=24)


async def test_register_with_a_taken_email_sends_a_notice_and_creates_nothing(
    register: RegisterUserHandler, uow: InMemoryAccountsUnitOfWork, hasher: FakePasswordHasher
) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD))
    hasher.calls.clear()

    await register(RegisterUser("ADA@example.com", "another long passphrase"))

    assert len(uow.committed.users) == 1
    assert [m.template for m in uow.mails] == ["verify_email", "already_registered"]
    assert hasher.calls == ["hash"]  # same work as a new registration


async def test_register_refuses_a_weak_password_before_touching_storage(
    register: RegisterUserHandler, uow: InMemoryAccountsUnitOfWork
) -> None:
    with pytest.raises(WeakPassword):
        await register(RegisterUser("ada@example.com", "password1"))
    assert uow.commits == 0


async def test_verify_email_marks_the_user_verified_once(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD))
    verify = accounts.verify_email()
    token = _token_from(uow)

    view = await verify(VerifyEmail(token))

    assert view.email_verified
    with pytest.raises(TokenInvalid):
        await verify(VerifyEmail(token))


async def test_verify_email_refuses_an_expired_token(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD))
    clock.advance(timedelta(hours=24))
    with pytest.raises(TokenInvalid):
        await accounts.verify_email()(VerifyEmail(_token_from(uow)))


@pytest.mark.parametrize("token", ["", "x" * 513, "not-a-token"])
async def test_verify_email_refuses_unknown_or_malformed_tokens(
    uow: InMemoryAccountsUnitOfWork, clock: FixedClock, token: str, accounts: AccountsContainer
) -> None:
    with pytest.raises(TokenInvalid):
        await accounts.verify_email()(VerifyEmail(token))


async def test_a_new_verification_token_voids_the_older_one(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD))
    first = _token_from(uow)
    user = next(iter(uow.committed.users.values()))
    # Re-issue through the repository, as a resend would.
    async with uow() as tx:
        await tx.tokens.add(
            OneTimeToken(
                id=uuid.uuid4(),
                user_id=user.id,
                purpose=TokenPurpose.VERIFY_EMAIL,
                token_hash=hash_secret("second"),
                created_at=clock.now(),
                expires_at=clock.now() + timedelta(hours=1),
            )
        )
        await tx.commit()
    with pytest.raises(TokenInvalid):
        await accounts.verify_email()(VerifyEmail(first))
    assert (await accounts.verify_email()(VerifyEmail("second"))).email_verified


async def test_update_profile_renames_and_clears(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD, "Ada"))
    user_id = next(iter(uow.committed.users))
    update = accounts.update_profile()

    assert (await update(UpdateProfile(user_id, " Countess "))).display_name == "Countess"
    assert (await update(UpdateProfile(user_id, None))).display_name is None
    with pytest.raises(AccountGone):
        await update(UpdateProfile(uuid.uuid4(), "x"))


async def test_update_profile_changes_only_what_is_sent_and_knows_the_locales(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD, "Ada"))
    user_id = next(iter(uow.committed.users))
    update = accounts.update_profile()

    german = await update(UpdateProfile(user_id, locale="de"))
    assert (german.locale, german.display_name) == ("de", "Ada")
    renamed = await update(UpdateProfile(user_id, display_name="Countess"))
    assert (renamed.locale, renamed.display_name) == ("de", "Countess")
    assert (await update(UpdateProfile(user_id, locale=None))).locale is None
    with pytest.raises(UnsupportedLocale):
        await update(UpdateProfile(user_id, locale="xx"))


@pytest.fixture
async def directory(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> AccountsDirectory:
    await register(RegisterUser("ada@example.com", PASSWORD))
    await accounts.verify_email()(VerifyEmail(_token_from(uow)))
    hasher.calls.clear()
    return accounts.directory()


async def test_authenticate_returns_the_account_for_right_credentials(
    directory: AccountsDirectory,
) -> None:
    account = await directory.authenticate("ADA@example.com ", PASSWORD)
    assert account.email == "ada@example.com"
    assert account.roles == ("user",)


@pytest.mark.parametrize(
    ("email", "password", "expected_calls"),
    [
        ("ada@example.com", "wrong password!", ["verify"]),
        ("nobody@example.com", PASSWORD, ["dummy"]),
        ("not an email", PASSWORD, ["dummy"]),
    ],
)
async def test_authenticate_failures_look_alike_and_always_spend_a_hash(
    directory: AccountsDirectory,
    hasher: FakePasswordHasher,
    email: str,
    password: str,
    expected_calls: list[str],
) -> None:
    with pytest.raises(InvalidCredentials):
        await directory.authenticate(email, password)
    assert hasher.calls == expected_calls


async def test_authenticate_refuses_a_disabled_account_like_a_wrong_password(
    directory: AccountsDirectory, uow: InMemoryAccountsUnitOfWork
) -> None:
    next(iter(uow.committed.users.values())).is_active = False
    with pytest.raises(InvalidCredentials):
        await directory.authenticate("ada@example.com", PASSWORD)


async def test_authenticate_refuses_an_unverified_email_only_after_the_right_password(
    register: RegisterUserHandler,
    uow: InMemoryAccountsUnitOfWork,
    hasher: FakePasswordHasher,
    clock: FixedClock,
    accounts: AccountsContainer,
) -> None:
    await register(RegisterUser("bob@example.com", PASSWORD))
    directory = accounts.directory()
    with pytest.raises(InvalidCredentials):
        await directory.authenticate("bob@example.com", "wrong password!")
    with pytest.raises(EmailNotVerified):
        await directory.authenticate("bob@example.com", PASSWORD)
    lenient = build_accounts(uow, hasher, clock, require_verified_email=False).directory()
    assert (await lenient.authenticate("bob@example.com", PASSWORD)).email == "bob@example.com"


async def test_authenticate_rehashes_a_password_stored_under_an_old_scheme(
    directory: AccountsDirectory, uow: InMemoryAccountsUnitOfWork, hasher: FakePasswordHasher
) -> None:
    user_id = next(iter(uow.committed.users))
    uow.committed.users[user_id].password_hash = PasswordHash(f"old${PASSWORD}")

    await directory.authenticate("ada@example.com", PASSWORD)

    assert uow.committed.users[user_id].password_hash == PasswordHash(f"fake1${PASSWORD}")
    assert hasher.calls == ["verify", "hash"]


async def test_authenticate_leaves_a_current_hash_alone(
    directory: AccountsDirectory, hasher: FakePasswordHasher
) -> None:
    await directory.authenticate("ada@example.com", PASSWORD)
    assert hasher.calls == ["verify"]
