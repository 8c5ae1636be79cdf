"""What other modules may use of accounts: check credentials, look an account up, the events
accounts records for them to react to, and the one it handles for them (the account's copy of
its MFA state).

The auth module signs users in through this facade; it never touches accounts' tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatehouse.modules.accounts.domain.errors import (
    AccountExists,
    EmailNotVerified,
    IdentityEmailUnverified,
    InvalidCredentials,
    InvalidEmail,
    ReauthFailed,
    SignInRefused,
    UserNotFound,
)
from gatehouse.modules.accounts.domain.events import (
    AccountDeleted,
    AccountDisabled,
    AccountTakenOver,
    MfaSummaryChanged,
    PasswordChanged,
    RolesChanged,
)
from gatehouse.modules.accounts.domain.model import Email, MfaSummary

__all__ = [
    "AccountDeleted",
    "AccountDirectory",
    "AccountDisabled",
    "AccountExists",
    "AccountProfile",
    "AccountSnapshot",
    "AccountTakenOver",
    "EmailNotVerified",
    "ExternalIdentities",
    "ExternalIdentity",
    "IdentityEmailUnverified",
    "InvalidCredentials",
    "MfaSummary",
    "MfaSummaryChanged",
    "PasswordChanged",
    "ReauthFailed",
    "Requester",
    "RolesChanged",
    "SignInRefused",
    "UserNotFound",
    "normalise_email",
    "valid_email",
]


def normalise_email(raw: str) -> str:
    """An address as accounts compares it (trimmed, NFKC, lower-case): what an account is
    known by, for another module's bookkeeping (auth's lockout counts per account)."""
    return Email.normalise(raw)


def valid_email(raw: str) -> str | None:
    """An address as accounts accepts it (normalised), or None where accounts would answer 422
    ``invalid_email``: one address rule for every module (organizations' invitations)."""
    try:
        return Email.parse(raw).value
    except InvalidEmail:
        return None


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    user_id: uuid.UUID
    email: str
    roles: tuple[str, ...]
    is_active: bool
    email_verified: bool
    locale: str | None = None  # the language of the account's mails, when saved


@dataclass(frozen=True, slots=True)
class AccountProfile:
    """The account as an administrator sees it (``GET /admin/users/{id}``)."""

    account: AccountSnapshot
    display_name: str | None
    created_at: datetime
    mfa: MfaSummary
    identities: tuple[str, ...] = ()  # the providers of its linked identities, by name


class AccountDirectory(Protocol):
    async def authenticate(self, email: str, password: str) -> AccountSnapshot:
        """Return the account for these credentials.

        Raises ``InvalidCredentials`` for an unknown address, a wrong password, a disabled or
        a social-only account, all in the same time; ``EmailNotVerified`` when the password is
        right but verification is required and missing.
        """
        ...

    async def reauthenticate(self, user_id: uuid.UUID, password: str) -> AccountSnapshot:
        """The signed-in user proves the password again (step-up). Raises ``ReauthFailed``
        (403 ``reauth_failed``) for a wrong one, after the same work as a right one."""
        ...

    async def get(self, user_id: uuid.UUID) -> AccountSnapshot | None:
        """From the read side: one primary-key read, no aggregate (hot paths use it)."""
        ...

    async def profile(self, user_id: uuid.UUID) -> AccountProfile | None:
        """The same read, with what an administrator is shown besides."""
        ...


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who an OpenID provider says signed in, taken from an ID token whose signature, issuer,
    audience, expiry and nonce were checked. Identities are keyed by ``(issuer, subject)``,
    never by the email, which the user may change at the provider."""

    provider: str  # the configured name, the ``{provider}`` path segment ("google")
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, for the audit event and the language of a notice."""

    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class ExternalIdentities(Protocol):
    """Accounts' side of social login: which account a provider identity signs in to, and
    linking one to a signed-in user. Auth runs the protocol (state, PKCE, the ID token) and
    calls this with the identity it verified."""

    async def sign_in(self, identity: ExternalIdentity, requester: Requester) -> AccountSnapshot:
        """The account this identity signs in to, in one transaction:

        - the account linked to ``(issuer, subject)`` (its ``last_used_at`` moves);
        - else, for a verified email no account has: a new verified account without a
          password, linked;
        - else, for a verified email whose account is verified too: that account, linked now;
        - else, for a verified email whose account was never verified: that account taken
          over (password removed, pending mailed links void, ``AccountTakenOver`` ends its
          sessions and second factors), verified and linked.

        Raises, for an identity linked to no account whose provider does not vouch for the
        email (``email_verified`` false, or no email): ``AccountExists`` when an account has
        that email, else ``IdentityEmailUnverified``. Raises ``SignInRefused`` for a disabled
        account. New links are audit events and send the account a notice."""
        ...

    async def link(
        self, user_id: uuid.UUID, identity: ExternalIdentity, requester: Requester
    ) -> None:
        """Link the identity to this signed-in user (never to anyone else), whatever the
        emails say: the user proved both ends. Linking it again to the same user is a no-op.

        Raises ``AccountExists`` when the identity signs in to another account, or the user
        already has an identity of that provider; ``SignInRefused`` for a disabled or deleted
        account."""
        ...
