"""Invite someone by mail (owners only), and accept an invitation as the signed-in user whose
verified address it was sent to.

The token is 256 random bits, mailed once and stored as its SHA-256; it works once, for seven
days. The mail goes through notifications' outbox: recorded in this unit of work, written with
its commit, sent by the dispatcher afterwards.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    EmailNotVerified,
    normalise_email,
    valid_email,
)
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.modules.organizations.application.organizations import MyOrganization
from gatehouse.modules.organizations.application.ports import OrganizationsUnitOfWork
from gatehouse.modules.organizations.domain.errors import (
    InvalidEmail,
    InvitationForAnotherAddress,
    InvitationInvalid,
    OrganizationNotFound,
    OwnerRequired,
)
from gatehouse.modules.organizations.domain.model import (
    INVITATION_TTL,
    Invitation,
    Membership,
    Role,
)
from gatehouse.shared.clock import Clock

INVITATION_TEMPLATE = "organization_invitation"


def hash_token(token: str) -> bytes:
    # 256 random bits need no slow hash: there is no dictionary to try.
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class InviteMember:
    organization_id: uuid.UUID
    email: str
    role: Role
    by: uuid.UUID
    locale: str = "en"  # of the mail: the inviter's request's language


class InviteMemberHandler:
    def __init__(
        self,
        uow: Callable[[], OrganizationsUnitOfWork],
        accounts: AccountDirectory,
        clock: Clock,
        accept_url: str,
    ) -> None:
        """``accept_url``: the page that accepts (the mail links to it with ``?token=``)."""
        self._uow = uow
        self._accounts = accounts
        self._clock = clock
        self._accept_url = accept_url

    async def __call__(self, cmd: InviteMember) -> Invitation:
        token = secrets.token_urlsafe(32)
        async with self._uow() as uow:
            membership = await uow.memberships.get(cmd.organization_id, cmd.by)
            organization = await uow.organizations.get(cmd.organization_id)
            if membership is None or organization is None:
                raise OrganizationNotFound
            if not membership.is_owner:
                raise OwnerRequired
            email = valid_email(cmd.email)
            if email is None:
                raise InvalidEmail(field="email")
            invitation = Invitation.issue(
                organization.id,
                email,
                cmd.role,
                token_hash=hash_token(token),
                invited_by=cmd.by,
                now=self._clock.now(),
            )
            await uow.invitations.add(invitation)
            inviter = await self._accounts.get(cmd.by)
            params = {
                "organization": organization.name,
                "inviter": inviter.email if inviter else "",
                "link": self._link(token),
                "days": str(INVITATION_TTL.days),
            }
            uow.record(OutgoingMail(invitation.email, INVITATION_TEMPLATE, params, cmd.locale))
            await uow.commit()
        return invitation

    def _link(self, token: str) -> str:
        separator = "&" if "?" in self._accept_url else "?"
        return f"{self._accept_url}{separator}{urlencode({'token': token})}"


@dataclass(frozen=True, slots=True)
class AcceptInvitation:
    token: str
    user_id: uuid.UUID  # the signed-in user


class AcceptInvitationHandler:
    def __init__(
        self,
        uow: Callable[[], OrganizationsUnitOfWork],
        accounts: AccountDirectory,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._accounts = accounts
        self._clock = clock

    async def __call__(self, cmd: AcceptInvitation) -> MyOrganization:
        now = self._clock.now()
        async with self._uow() as uow:
            invitation = await uow.invitations.get_by_token_hash(hash_token(cmd.token))
            if invitation is None or not invitation.is_usable(now):
                raise InvitationInvalid
            account = await self._accounts.get(cmd.user_id)
            if account is None or normalise_email(account.email) != invitation.email:
                raise InvitationForAnotherAddress
            if not account.email_verified:
                raise EmailNotVerified
            invitation.accept(now)
            organization_id = invitation.organization_id
            # A member already keeps the role they have (an owner is never demoted by it).
            membership = await uow.memberships.get(organization_id, cmd.user_id)
            if membership is None:
                membership = Membership(
                    organization_id=organization_id,
                    user_id=cmd.user_id,
                    role=invitation.role,
                    created_at=now,
                )
                await uow.memberships.add(membership)
            organization = await uow.organizations.get(organization_id)
            assert organization is not None  # an invitation goes with its organization
            await uow.commit()
        return MyOrganization(organization, membership.role)
