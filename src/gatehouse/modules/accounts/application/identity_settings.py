"""The signed-in user's linked identities (social login): the list, and unlinking one.

Unlinking is refused with ``LastSignInMethod`` when the identity is the account's only way
left to sign in (no password, no other identity). That is decided before any proof is asked
for, since such an account may have none to give, and decided again, with the account's row
locked, in the transaction that unlinks: of two unlinks racing for an account's last two
identities, one succeeds and the other is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gatehouse.modules.accounts.application.mails import LinkSettings
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.public import Requester
from gatehouse.modules.accounts.application.reauth import check_proof
from gatehouse.modules.accounts.application.views import IdentityView, IdentityViews
from gatehouse.modules.accounts.domain.errors import IdentityNotFound, LastSignInMethod
from gatehouse.modules.accounts.domain.identity import Identity, leaves_a_way_in
from gatehouse.modules.accounts.domain.model import User
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.shared.clock import Clock
from gatehouse.shared.pagination import Page, page_of
from gatehouse.shared.step_up import StepUpProof


@dataclass(frozen=True, slots=True)
class ListIdentities:
    user_id: uuid.UUID
    limit: int = 20
    before: uuid.UUID | None = None


class ListIdentitiesHandler:
    def __init__(self, views: IdentityViews) -> None:
        self._views = views

    async def __call__(self, query: ListIdentities) -> Page[IdentityView]:
        rows = await self._views.of_user(query.user_id, limit=query.limit + 1, before=query.before)
        return page_of(rows, query.limit, lambda view: view.id)


@dataclass(frozen=True, slots=True)
class UnlinkIdentity:
    user_id: uuid.UUID
    provider: str
    prove: Callable[[], Awaitable[StepUpProof]]
    """The step-up, run only once the unlink is allowed (the route's password or code)."""
    requester: Requester = field(default_factory=Requester)


async def _unlinkable(
    uow: AccountsUnitOfWork, user_id: uuid.UUID, provider: str, *, lock: bool
) -> tuple[User, Identity]:
    """The user and their identity of ``provider``, if unlinking it leaves a way to sign in;
    ``lock``: the user's row, against a concurrent unlink or link."""
    user = await uow.users.get(user_id, for_update=lock)
    if user is None:
        raise IdentityNotFound
    identities = await uow.identities.of_user(user.id)
    identity = next((i for i in identities if i.provider == provider), None)
    if identity is None:
        raise IdentityNotFound
    if not leaves_a_way_in(user.password_hash is not None, identities, identity):
        raise LastSignInMethod
    return user, identity


class UnlinkIdentityHandler:
    def __init__(
        self, *, uow: Callable[[], AccountsUnitOfWork], clock: Clock, links: LinkSettings
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._links = links

    async def __call__(self, cmd: UnlinkIdentity) -> None:
        async with self._uow() as uow:  # before any proof: 404, or 409 for the last way in
            await _unlinkable(uow, cmd.user_id, cmd.provider, lock=False)
        check_proof(await cmd.prove(), cmd.user_id)
        async with self._uow() as uow:
            now = self._clock.now()
            user, identity = await _unlinkable(uow, cmd.user_id, cmd.provider, lock=True)
            await uow.identities.remove(identity)
            requester = cmd.requester
            uow.record(
                SecurityEvent(
                    type="account.identity_unlinked",
                    user_id=user.id,
                    ip=requester.ip,
                    user_agent=requester.user_agent,
                    details={"provider": identity.provider},
                )
            )
            uow.record(
                self._links.notice(
                    user.email.value,
                    "identity_unlinked",
                    user.mail_locale(requester.locale),
                    provider=identity.provider,
                    when=now.strftime("%Y-%m-%d %H:%M"),
                )
            )
            await uow.commit()
