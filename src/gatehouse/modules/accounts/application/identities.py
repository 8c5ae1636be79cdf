"""Social login, accounts' side: which account a verified provider identity signs in to, and
linking one to a signed-in user (``ExternalIdentities``, called by auth).

Identities are found by ``(issuer, subject)`` only. The email decides nothing for an identity
already linked; for a new one it decides only when the provider vouches for it
(``email_verified``): a new account, a link to the verified account that has it, or the
take-over of an account whose holder never proved the address. Everything happens in one
transaction, with the account's row locked, so two sign-ins, or a sign-in and an unlink, cannot
interleave.

Audit: ``account.identity_linked`` with ``how`` = ``sign_up`` (a new account), ``email_match``,
``take_over`` or ``settings``; a take-over also records ``account.identity_unlinked`` for each
identity the previous holder had linked. Notices: ``identity_linked`` to the account's address
for every new link but a new account's first (its owner just signed up with it; the sign-up
is the news).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from gatehouse.modules.accounts.application.directory import account_snapshot
from gatehouse.modules.accounts.application.mails import LinkSettings
from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.public import (
    AccountSnapshot,
    ExternalIdentities,
    ExternalIdentity,
    Requester,
)
from gatehouse.modules.accounts.domain.errors import (
    AccountExists,
    EmailAlreadyRegistered,
    IdentityEmailUnverified,
    IdentityLinkConflict,
    InvalidDisplayName,
    InvalidEmail,
    SignInRefused,
)
from gatehouse.modules.accounts.domain.events import AccountTakenOver
from gatehouse.modules.accounts.domain.identity import Identity
from gatehouse.modules.accounts.domain.model import DisplayName, Email, User
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id

T = TypeVar("T")


def email_of(identity: ExternalIdentity) -> Email | None:
    """The provider's address, normalised; one that is not a valid address counts as none."""
    if identity.email is None:
        return None
    try:
        return Email.parse(identity.email)
    except InvalidEmail:
        return None


def display_name_of(identity: ExternalIdentity) -> DisplayName | None:
    try:
        return DisplayName.parse(identity.display_name)
    except InvalidDisplayName:
        return None


async def once_more(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt``; when a unique constraint refused it because a concurrent request
    committed the same link (or account) first, run it again on what that one committed."""
    try:
        return await attempt()
    except (IdentityLinkConflict, EmailAlreadyRegistered):
        pass
    try:
        return await attempt()
    except EmailAlreadyRegistered:
        raise AccountExists from None


async def _has_provider(uow: AccountsUnitOfWork, user: User, provider: str) -> bool:
    return any(i.provider == provider for i in await uow.identities.of_user(user.id))


class IdentityLinks(ExternalIdentities):
    def __init__(
        self, *, uow: Callable[[], AccountsUnitOfWork], clock: Clock, links: LinkSettings
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._links = links

    async def sign_in(self, identity: ExternalIdentity, requester: Requester) -> AccountSnapshot:
        return await once_more(lambda: self._sign_in(identity, requester))

    async def link(
        self, user_id: uuid.UUID, identity: ExternalIdentity, requester: Requester
    ) -> None:
        await once_more(lambda: self._link(user_id, identity, requester))

    async def _sign_in(self, identity: ExternalIdentity, requester: Requester) -> AccountSnapshot:
        email = email_of(identity)
        async with self._uow() as uow:
            now = self._clock.now()
            linked = await uow.identities.get(identity.issuer, identity.subject, for_update=True)
            if linked is not None:
                user = await uow.users.get(linked.user_id)
                if user is None or not user.is_active:
                    raise SignInRefused
                linked.signed_in(now, None if email is None else email.value)
                await uow.commit()
                return account_snapshot(user)
            holder = None if email is None else await uow.users.get_by_email(email, for_update=True)
            if holder is not None and await uow.identities.get(identity.issuer, identity.subject):
                raise IdentityLinkConflict  # linked while this waited for the account's lock
            if email is None or not identity.email_verified:
                raise AccountExists if holder is not None else IdentityEmailUnverified
            if holder is None:
                user, how = self._new_account(email, identity, now), "sign_up"
                await uow.users.add(user)
                uow.record(
                    SecurityEvent(
                        type="account.registered",
                        user_id=user.id,
                        ip=requester.ip,
                        user_agent=requester.user_agent,
                        details={"method": f"social:{identity.provider}"},
                    )
                )
            elif not holder.is_active:
                raise SignInRefused
            elif holder.email_verified:
                user, how = holder, "email_match"
                if await _has_provider(uow, user, identity.provider):
                    raise AccountExists  # it has another account of this provider
            else:
                user, how = holder, "take_over"
                await self._take_over(uow, user, identity, requester, now)
            await self._add(uow, user, identity, requester, now, how=how)
            await uow.commit()
        return account_snapshot(user)

    async def _link(
        self, user_id: uuid.UUID, identity: ExternalIdentity, requester: Requester
    ) -> None:
        async with self._uow() as uow:
            now = self._clock.now()
            user = await uow.users.get(user_id, for_update=True)
            if user is None or not user.is_active:
                raise SignInRefused
            linked = await uow.identities.get(identity.issuer, identity.subject)
            if linked is not None:
                if linked.user_id != user.id:
                    raise AccountExists  # it signs in to another account
                return  # linked to this user already
            if await _has_provider(uow, user, identity.provider):
                raise AccountExists  # one account per provider
            await self._add(uow, user, identity, requester, now, how="settings")
            await uow.commit()

    @staticmethod
    def _new_account(email: Email, identity: ExternalIdentity, now: datetime) -> User:
        """Verified (the provider vouches for the address) and without a password."""
        return User.register(
            user_id=new_id(),
            email=email,
            password_hash=None,
            display_name=display_name_of(identity),
            now=now,
            email_verified=True,
        )

    async def _take_over(
        self,
        uow: AccountsUnitOfWork,
        user: User,
        identity: ExternalIdentity,
        requester: Requester,
        now: datetime,
    ) -> None:
        """The address's holder never proved it; the provider did. Nothing the holder set up
        survives: the password, name and mail language, every pending mailed link (an email
        change would move the address away), identities they linked, and, through
        ``AccountTakenOver``, their sessions and second factors."""
        for old in await uow.identities.of_user(user.id):
            await uow.identities.remove(old)
            uow.record(self._event(user, "account.identity_unlinked", old.provider, requester))
        user.take_over(display_name_of(identity), now)
        await uow.tokens.void_unused(user.id, None, now)
        uow.record(AccountTakenOver(user_id=user.id, provider=identity.provider))

    async def _add(
        self,
        uow: AccountsUnitOfWork,
        user: User,
        identity: ExternalIdentity,
        requester: Requester,
        now: datetime,
        *,
        how: str,
    ) -> None:
        email = email_of(identity)
        link = Identity.link(
            identity_id=new_id(),
            user_id=user.id,
            provider=identity.provider,
            issuer=identity.issuer,
            subject=identity.subject,
            email=None if email is None else email.value,
            now=now,
            signed_in=how != "settings",
        )
        await uow.identities.add(link)
        uow.record(
            self._event(user, "account.identity_linked", identity.provider, requester, how=how)
        )
        if how != "sign_up":
            uow.record(
                self._links.notice(
                    user.email.value,
                    "identity_linked",
                    user.mail_locale(requester.locale),
                    provider=identity.provider,
                    when=now.strftime("%Y-%m-%d %H:%M"),
                    taken_over="1" if how == "take_over" else "",
                )
            )

    @staticmethod
    def _event(
        user: User, type_: str, provider: str, requester: Requester, **details: str
    ) -> SecurityEvent:
        return SecurityEvent(
            type=type_,
            user_id=user.id,
            ip=requester.ip,
            user_agent=requester.user_agent,
            details={"provider": provider, **details},
        )
