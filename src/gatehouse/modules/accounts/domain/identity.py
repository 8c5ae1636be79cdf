"""A provider account linked to a user (social login). Standard library only.

An identity is who an OpenID provider says signed in: ``(issuer, subject)``, the only key it is
ever found by. The email beside it is what the provider said last, kept for display in the
user's settings; it never decides which account an identity belongs to.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime


@dataclass(eq=False, kw_only=True)
class Identity:
    """Identity is ``id``; equality is identity. At most one per ``(issuer, subject)`` and one
    per ``(user_id, provider)`` (the database holds both)."""

    id: uuid.UUID
    user_id: uuid.UUID
    provider: str  # the configured name, the ``{provider}`` path segment
    issuer: str
    subject: str
    email: str | None  # normalised, as the provider said it last; for display only
    created_at: datetime
    last_used_at: datetime | None = None  # the last sign-in with it; None: never signed in

    @classmethod
    def link(
        cls,
        *,
        identity_id: uuid.UUID,
        user_id: uuid.UUID,
        provider: str,
        issuer: str,
        subject: str,
        email: str | None,
        now: datetime,
        signed_in: bool,
    ) -> Identity:
        """A new link; ``signed_in`` when it comes with a sign-in (not from settings)."""
        return cls(
            id=identity_id,
            user_id=user_id,
            provider=provider,
            issuer=issuer,
            subject=subject,
            email=email,
            created_at=now,
            last_used_at=now if signed_in else None,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def signed_in(self, now: datetime, email: str | None) -> None:
        """Used to sign in: the time moves, and the address shown is the provider's newest."""
        self.last_used_at = now
        self.email = email


def leaves_a_way_in(has_password: bool, identities: list[Identity], removed: Identity) -> bool:
    """Whether the account can still sign in once ``removed`` is unlinked: with its password,
    or with another linked identity."""
    return has_password or any(other.id != removed.id for other in identities)
