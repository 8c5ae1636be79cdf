"""Mail requests through fakes: what the request queues, and what the dispatcher resolves."""

from __future__ import annotations

import pytest

from gatehouse.modules.accounts.application.mail_requests import (
    MailRequestKind,
    RequestMail,
)
from gatehouse.modules.accounts.application.register import RegisterUser, RegisterUserHandler
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.domain.errors import InvalidEmail
from gatehouse.modules.accounts.domain.model import TokenPurpose
from gatehouse.modules.notifications.application.public import MailCaps, OutgoingMail
from tests.support.clock import FixedClock
from tests.support.fakes import FakeMailCaps, FakePasswordHasher, InMemoryAccountsUnitOfWork
from tests.unit.accounts.conftest import PASSWORD, build_accounts


def _accounts(
    uow: InMemoryAccountsUnitOfWork, caps: MailCaps | None = None, clock: FixedClock | None = None
) -> AccountsContainer:
    return build_accounts(uow, FakePasswordHasher(), clock or FixedClock(), caps=caps)


RESET = MailRequestKind.PASSWORD_RESET
RESEND = MailRequestKind.RESEND_VERIFICATION


async def test_the_request_queues_the_same_row_for_any_address_and_never_looks_it_up(
    uow: InMemoryAccountsUnitOfWork,
) -> None:
    caps = FakeMailCaps(allowed=10)
    handler = _accounts(uow, caps).request_mail()
    await handler(RequestMail(RESET, "Nobody@Example.com", "de"))
    assert uow.mails == [OutgoingMail("nobody@example.com", RESET.value, {}, "de")]
    assert caps.asked == ["nobody@example.com"]


async def test_over_the_cap_nothing_is_queued_and_a_malformed_address_is_422(
    uow: InMemoryAccountsUnitOfWork,
) -> None:
    handler = _accounts(uow, FakeMailCaps(allowed=1)).request_mail()
    await handler(RequestMail(RESET, "ada@example.com"))
    await handler(RequestMail(RESET, "ada@example.com"))
    assert len(uow.mails) == 1
    with pytest.raises(InvalidEmail):
        await handler(RequestMail(RESET, "not an address"))


@pytest.fixture
async def registered(register: RegisterUserHandler, uow: InMemoryAccountsUnitOfWork) -> None:
    await register(RegisterUser("ada@example.com", PASSWORD))
    uow.committed.recorded.clear()


async def test_the_resolver_mails_a_fresh_link_to_an_account_and_nothing_to_a_stranger(
    registered: None, uow: InMemoryAccountsUnitOfWork, clock: FixedClock
) -> None:
    resolver = _accounts(uow, clock=clock).mail_resolver()
    assert await resolver.resolve(OutgoingMail("eve@example.com", RESET.value, {})) is None
    mail = await resolver.resolve(OutgoingMail("ada@example.com", RESET.value, {}, "de"))
    assert mail is not None
    assert (mail.template, mail.locale, mail.params["minutes"]) == ("password_reset", "de", "30")
    assert "/reset-password?token=" in mail.params["link"]
    live = [
        t
        for t in uow.committed.tokens.values()
        if t.purpose is TokenPurpose.RESET_PASSWORD and t.used_at is None
    ]
    assert len(live) == 1


async def test_a_resend_goes_to_unverified_accounts_only_with_a_code(
    registered: None, uow: InMemoryAccountsUnitOfWork, clock: FixedClock
) -> None:
    resolver = _accounts(uow, clock=clock).mail_resolver()
    mail = await resolver.resolve(OutgoingMail("ada@example.com", RESEND.value, {}))
    assert mail is not None
    assert mail.template == "verify_email"
    assert mail.params["code"].isdigit()
    [user] = uow.committed.users.values()
    user.mark_email_verified(clock.now())
    assert await resolver.resolve(OutgoingMail("ada@example.com", RESEND.value, {})) is None


async def test_a_disabled_account_gets_nothing(
    registered: None, uow: InMemoryAccountsUnitOfWork, clock: FixedClock
) -> None:
    [user] = uow.committed.users.values()
    user.is_active = False
    resolver = _accounts(uow, clock=clock).mail_resolver()
    assert await resolver.resolve(OutgoingMail("ada@example.com", RESET.value, {})) is None
