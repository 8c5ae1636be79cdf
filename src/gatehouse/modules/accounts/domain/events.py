"""What accounts records for other modules to react to, in the same transaction.

Accounts never calls auth: when a credential change must end sessions, it records one of these
and auth's handlers (registered by main) act on it before the transaction commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.shared.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(DomainEvent):
    """A new password: by a mailed reset link (``reset``: every session ends) or by the signed-in
    user (every session but ``kept_session`` ends). ``ip`` and ``user_agent``: who set it."""

    user_id: uuid.UUID
    reset: bool
    kept_session: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None

    @property
    def reason(self) -> str:
        """Why the sessions ended: ``password_reset`` or ``password_changed``."""
        return "password_reset" if self.reset else "password_changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDeleted(DomainEvent):
    """The account is gone: its sessions end and what they recorded about the user goes."""

    user_id: uuid.UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class MfaSummaryChanged(DomainEvent):
    """Recorded by the module that owns the second factors (auth): the account's copy of their
    state, which ``GET /me`` shows, changes in the same transaction."""

    user_id: uuid.UUID
    summary: MfaSummary


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDisabled(DomainEvent):
    """An administrator (``by``; ``None`` for an operator on the command line) disabled the
    account: every session ends at once, refresh included."""

    user_id: uuid.UUID
    by: uuid.UUID | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RolesChanged(DomainEvent):
    """An administrator (``by``) changed the account's roles. Roles travel in access tokens,
    so every session ends: no token keeps an old role."""

    user_id: uuid.UUID
    roles: tuple[str, ...]
    by: uuid.UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountTakenOver(DomainEvent):
    """A verified provider identity claimed a local account whose email was never verified
    (social login): its password is gone, and every session, pending sign-in and second factor
    the previous holder may have set up ends with the same transaction, so a squatter who
    registered the address first keeps nothing."""

    user_id: uuid.UUID
    provider: str
