"""The import use case through the fakes: what is created, what is skipped and why, the limit,
and the one audit event a call."""

from __future__ import annotations

import uuid

import pytest

from gatehouse.modules.accounts.application.import_users import (
    ImportedUser,
    ImportUsers,
    ImportUsersHandler,
    TooManyToImport,
)
from gatehouse.modules.accounts.domain.model import Email
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryAccountsUnitOfWork

ADMIN = uuid.UUID(int=1)


def hash_problem(value: str) -> str | None:
    return None if value.startswith("$2b$") else "malformed hash"


def handler(uow: InMemoryAccountsUnitOfWork) -> ImportUsersHandler:
    return ImportUsersHandler(uow=uow, hash_problem=hash_problem, clock=FixedClock())


async def test_users_are_created_once_and_every_other_one_is_skipped_with_its_reason(
    uow: InMemoryAccountsUnitOfWork,
) -> None:
    users = (
        ImportedUser(email="Ada@Example.com", password_hash="$2b$ok", email_verified=True),
        ImportedUser(email="ada@example.com"),
        ImportedUser(email="no"),
        ImportedUser(email="bo@example.com", password_hash="$2x$"),
        ImportedUser(email="cy@example.com", display_name=" trimmed "),
        ImportedUser(email="di@example.com", roles=("owner",)),
        ImportedUser(email="ed@example.com", roles=("admin",)),
        ImportedUser(email="fay@example.com", display_name="x" * 101),
    )
    result = await handler(uow)(ImportUsers(users=users, admin_id=ADMIN))
    assert result.created == 2
    assert [(s.index, s.reason.split(":")[0]) for s in result.skipped] == [
        (1, "duplicate in this request"),
        (2, "invalid email"),
        (3, "malformed hash"),
        (5, "unknown role"),
        (6, "the admin role is not imported"),
        (7, "invalid display name"),
    ]
    ada, cy = uow.committed.users.values()
    assert ada.email == Email("ada@example.com")
    assert cy.display_name is not None
    assert cy.display_name.value == "trimmed"
    assert ada.email_verified
    assert ada.password_hash is not None
    [event] = uow.committed.events
    assert event.type == "admin.users_imported"
    assert event.user_id == ADMIN
    assert dict(event.details) == {"admin_id": str(ADMIN), "created": "2", "skipped": "6"}

    again = await handler(uow)(ImportUsers(users=users[:1], admin_id=ADMIN))
    assert (again.created, [s.reason for s in again.skipped]) == (0, ["already exists"])


async def test_the_operator_may_import_an_administrator(uow: InMemoryAccountsUnitOfWork) -> None:
    users = (ImportedUser(email="root@example.com", roles=("admin",)),)
    result = await handler(uow)(ImportUsers(users=users, admin_id=None, may_grant_admin=True))
    assert result.created == 1
    [user] = uow.committed.users.values()
    assert user.roles == ("user", "admin")
    assert user.password_hash is None
    [event] = uow.committed.events
    assert event.details["by"] == "command line"


async def test_more_than_1000_users_are_refused(uow: InMemoryAccountsUnitOfWork) -> None:
    users = tuple(ImportedUser(email=f"u{n}@example.com") for n in range(1001))
    with pytest.raises(TooManyToImport) as refused:
        await handler(uow)(ImportUsers(users=users, admin_id=ADMIN))
    assert refused.value.field == "users"
    assert not uow.committed.users
