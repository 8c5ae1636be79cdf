"""The admin use cases as the operator's command line uses them: no administrator account acts,
an ``operator`` name does (``gatehouse users disable|enable``), and users are found by address."""

from __future__ import annotations

import uuid

import pytest

from gatehouse.modules.accounts.application.administration import UpdateUser
from gatehouse.modules.accounts.application.lookup import FindUser
from gatehouse.modules.accounts.application.register import RegisterUser
from gatehouse.modules.accounts.container import AccountsContainer
from gatehouse.modules.accounts.domain.errors import InvalidEmail, ReauthFailed, UserNotFound
from gatehouse.modules.accounts.domain.events import AccountDisabled
from tests.support.fakes import InMemoryAccountsUnitOfWork
from tests.unit.accounts.conftest import PASSWORD


@pytest.fixture
async def ada(accounts: AccountsContainer) -> uuid.UUID:
    await accounts.register_user()(RegisterUser("ada@example.com", PASSWORD))
    return (await accounts.find_user()(FindUser("ada@example.com"))).id


async def test_find_user_normalises_the_address_and_names_an_unknown_one(
    accounts: AccountsContainer, ada: uuid.UUID
) -> None:
    found = await accounts.find_user()(FindUser("  ADA@example.COM "))
    assert found.id == ada
    assert found.email == "ada@example.com"
    with pytest.raises(UserNotFound, match=r"no user has the address bob@example\.com"):
        await accounts.find_user()(FindUser("Bob@example.com"))
    with pytest.raises(InvalidEmail):
        await accounts.find_user()(FindUser("not an address"))


async def test_an_operator_disables_and_the_audit_event_names_them(
    accounts: AccountsContainer, uow: InMemoryAccountsUnitOfWork, ada: uuid.UUID
) -> None:
    view = await accounts.update_user()(
        UpdateUser(admin_id=None, user_id=ada, is_active=False, operator="cli:root")
    )
    assert view.is_active is False
    [disabled] = [e for e in uow.committed.recorded if isinstance(e, AccountDisabled)]
    assert disabled.user_id == ada
    assert disabled.by is None
    [event] = [e for e in uow.committed.events if e.type == "admin.user_updated"]
    assert event.details == {"operator": "cli:root", "is_active": "false"}


async def test_an_update_names_exactly_one_actor_and_only_an_admin_changes_roles(
    accounts: AccountsContainer, ada: uuid.UUID
) -> None:
    with pytest.raises(ValueError, match="either an administrator or an operator"):
        UpdateUser(admin_id=None, user_id=ada, is_active=False)
    with pytest.raises(ValueError, match="either an administrator or an operator"):
        UpdateUser(admin_id=uuid.uuid4(), user_id=ada, operator="cli")
    with pytest.raises(ReauthFailed):
        await accounts.update_user()(
            UpdateUser(admin_id=None, user_id=ada, roles=("admin",), operator="cli")
        )
