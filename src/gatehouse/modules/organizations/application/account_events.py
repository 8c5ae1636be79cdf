"""What organizations does when accounts deletes an account: in accounts' transaction, on its
session, so the account and its memberships go together or not at all."""

from __future__ import annotations

from gatehouse.modules.accounts.application.public import AccountDeleted
from gatehouse.modules.organizations.application.organizations import leave
from gatehouse.modules.organizations.application.ports import Repositories


async def leave_every_organization(event: AccountDeleted, repos: Repositories) -> None:
    """Each membership ends as if the user had left (``leave``: an organization left without an
    owner gets the member who joined first as owner, or is deleted when nobody remains), and
    the invitations the user sent are removed."""
    for membership in await repos.memberships.of_user(event.user_id):
        organization = await repos.organizations.get(membership.organization_id, for_update=True)
        if organization is not None:
            await leave(repos, organization, membership)
    await repos.invitations.remove_sent_by(event.user_id)
