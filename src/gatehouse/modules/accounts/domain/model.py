"""Accounts domain: the user aggregate and its value objects. Standard library only."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gatehouse.modules.accounts.domain.errors import InvalidDisplayName, InvalidEmail, UnknownRole

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64
MAX_DISPLAY_NAME_LENGTH = 100


def _has_control_or_space(value: str) -> bool:
    return any(unicodedata.category(ch)[0] in {"C", "Z"} for ch in value)


@dataclass(frozen=True, slots=True)
class Email:
    """A normalised email address: trimmed, NFKC, lower-case. Compared and stored as such."""

    value: str

    def __post_init__(self) -> None:
        value = self.value
        if value != Email.normalise(value):
            raise InvalidEmail("the address is not normalised")
        if not value or len(value) > MAX_EMAIL_LENGTH or _has_control_or_space(value):
            raise InvalidEmail
        local, sep, domain = value.rpartition("@")
        if not sep or not local or not domain or len(local) > MAX_LOCAL_PART_LENGTH:
            raise InvalidEmail
        if "@" in local or domain.startswith(".") or domain.endswith(".") or ".." in value:
            raise InvalidEmail
        labels = domain.split(".")
        if any(not label or label.startswith("-") or label.endswith("-") for label in labels):
            raise InvalidEmail

    @staticmethod
    def normalise(raw: str) -> str:
        return unicodedata.normalize("NFKC", raw.strip()).lower()

    @classmethod
    def parse(cls, raw: str) -> Email:
        return cls(cls.normalise(raw))

    @property
    def local_part(self) -> str:
        return self.value.rpartition("@")[0]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class DisplayName:
    value: str

    def __post_init__(self) -> None:
        if not self.value or self.value != self.value.strip():
            raise InvalidDisplayName("the display name must not be blank or padded")
        if len(self.value) > MAX_DISPLAY_NAME_LENGTH:
            raise InvalidDisplayName(
                f"the display name is longer than {MAX_DISPLAY_NAME_LENGTH} characters"
            )
        if any(unicodedata.category(ch)[0] == "C" for ch in self.value):
            raise InvalidDisplayName("the display name contains control characters")

    @classmethod
    def parse(cls, raw: str | None) -> DisplayName | None:
        if raw is None or not raw.strip():
            return None
        return cls(unicodedata.normalize("NFC", raw.strip()))


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """An opaque, self-describing password hash (scheme, pepper version, digest)."""

    value: str


@dataclass(frozen=True, slots=True)
class MfaSummary:
    """What the account shows of its second factors. The auth module owns the factors and
    keeps this copy current in the same transaction as every change to them."""

    totp: bool = False
    email: bool = False
    backup_codes_remaining: int = 0


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"

    @classmethod
    def parse_all(cls, names: Iterable[str]) -> tuple[Role, ...]:
        """The roles named, or ``UnknownRole`` naming the ones that do not exist."""
        known = {role.value: role for role in cls}
        wanted = tuple(names)
        unknown = sorted(set(wanted) - set(known))
        if unknown:
            raise UnknownRole(
                f"unknown role: {', '.join(unknown)}; roles are {', '.join(sorted(known))}",
                field="roles",
            )
        return tuple(known[name] for name in wanted)


@dataclass(eq=False, kw_only=True)
class User:
    """The account aggregate. Identity is ``id``; equality is identity."""

    id: uuid.UUID
    email: Email
    password_hash: PasswordHash | None
    display_name: DisplayName | None
    created_at: datetime
    updated_at: datetime
    email_verified_at: datetime | None = None
    is_active: bool = True
    roles: tuple[str, ...] = (Role.USER.value,)
    locale: str | None = None  # the language of the account's mails
    mfa: MfaSummary = field(default_factory=MfaSummary)

    @classmethod
    def register(
        cls,
        *,
        email: Email,
        password_hash: PasswordHash | None,
        display_name: DisplayName | None,
        now: datetime,
        email_verified: bool = False,
        user_id: uuid.UUID,
    ) -> User:
        """A new account with the ``user`` role; ``email_verified`` when the operator vouches
        for the address (an admin created from the command line)."""
        return cls(
            id=user_id,
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            created_at=now,
            updated_at=now,
            email_verified_at=now if email_verified else None,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, User) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def mark_email_verified(self, now: datetime) -> None:
        if self.email_verified_at is None:
            self.email_verified_at = now
            self.updated_at = now

    def change_email(self, email: Email, now: datetime) -> None:
        """The new address is verified: confirming the change proved the mailbox."""
        self.email = email
        self.email_verified_at = now
        self.updated_at = now

    def change_password(self, password_hash: PasswordHash, now: datetime) -> None:
        self.password_hash = password_hash
        self.updated_at = now

    def rehash(self, old: PasswordHash, new: PasswordHash, now: datetime) -> bool:
        """Store ``new``, the same password under the current scheme, unless the password
        changed since ``old`` was read. Whether it was stored."""
        if self.password_hash != old:
            return False
        self.password_hash = new
        self.updated_at = now
        return True

    def grant_role(self, role: Role, now: datetime) -> None:
        if role.value not in self.roles:
            self.roles = (*self.roles, role.value)
            self.updated_at = now

    def set_roles(self, roles: tuple[Role, ...], now: datetime) -> bool:
        """Exactly these roles (``user`` always among them, first). Whether they changed."""
        wanted = (Role.USER.value, *sorted({r.value for r in roles} - {Role.USER.value}))
        if set(wanted) == set(self.roles):
            return False
        self.roles = wanted
        self.updated_at = now
        return True

    def set_active(self, active: bool, now: datetime) -> bool:
        """Enable or disable the account. Whether that changed anything."""
        if self.is_active == active:
            return False
        self.is_active = active
        self.updated_at = now
        return True

    def set_email_verified(self, verified: bool, now: datetime) -> bool:
        """An administrator vouches for the address, or withdraws that. Whether it changed."""
        if self.email_verified == verified:
            return False
        self.email_verified_at = now if verified else None
        self.updated_at = now
        return True

    def take_over(self, display_name: DisplayName | None, now: datetime) -> None:
        """A verified provider identity claims an address the holder never proved: what the
        holder chose goes (password, name, mail language) and the address is verified."""
        self.password_hash = None
        self.display_name = display_name
        self.locale = None
        self.email_verified_at = now
        self.updated_at = now

    def rename(self, display_name: DisplayName | None, now: datetime) -> None:
        self.display_name = display_name
        self.updated_at = now

    def prefer_locale(self, locale: str | None, now: datetime) -> None:
        self.locale = locale
        self.updated_at = now

    def mail_locale(self, fallback: str) -> str:
        """The saved language of the account's mails, else ``fallback`` (the request's)."""
        return self.locale or fallback

    def can_sign_in(self) -> bool:
        return self.is_active and self.password_hash is not None


MAX_CODE_ATTEMPTS = 5


class TokenPurpose(StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a secret
    CHANGE_EMAIL = "change_email"


@dataclass(eq=False, kw_only=True)
class OneTimeToken:
    """A single-use secret sent by mail. Only its hash is stored."""

    id: uuid.UUID
    user_id: uuid.UUID
    purpose: TokenPurpose
    token_hash: bytes
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    new_email: Email | None = None  # CHANGE_EMAIL: the address this token confirms
    code_hash: bytes | None = None  # a short code mailed beside the link, if any
    code_attempts: int = 0

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    def consume(self, now: datetime) -> None:
        self.used_at = now

    def wrong_code(self, now: datetime) -> None:
        """Count a wrong code; the token dies after ``MAX_CODE_ATTEMPTS`` of them."""
        self.code_attempts += 1
        if self.code_attempts >= MAX_CODE_ATTEMPTS:
            self.used_at = now
