"""Organizations' subscriptions: accounts' ``AccountDeleted``, handled in accounts' transaction
with its session, so the account's deletion and its memberships' commit together."""

from __future__ import annotations

from typing import Any

from gatehouse.modules.accounts.application.public import AccountDeleted
from gatehouse.modules.organizations.adapters.repositories import SqlAlchemyRepositories
from gatehouse.modules.organizations.application.account_events import leave_every_organization
from gatehouse.shared.messagebus import Subscription, Transaction


async def _account_deleted(event: AccountDeleted, tx: Transaction) -> None:
    await leave_every_organization(event, SqlAlchemyRepositories(tx.session))


def organizations_subscriptions() -> list[Subscription[Any]]:
    return [Subscription(AccountDeleted, in_transaction=_account_deleted)]
