"""MFA domain: a user's second factors, and the challenge a password sign-in must answer.

``UserMfa`` holds every factor of one user in one row, locked while a code is checked, so two
requests never both spend one code, and a TOTP code works once (``totp_last_step``, the
high-water mark). Secrets are held sealed and codes as keyed hashes; this layer never sees
either in clear.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MAX_CODE_ATTEMPTS = 5  # per mfa_token, and per emailed code
BACKUP_CODE_COUNT = 10
FEW_BACKUP_CODES = 3  # at or below this, the "backup code used" notice says to make new ones


BACKUP_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32: no i, l, o, u
BACKUP_CODE_LENGTH = 10  # 50 bits
_CROCKFORD = str.maketrans({"i": "1", "l": "1", "o": "0", "-": None, " ": None})


def new_backup_code() -> str:
    return "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))


def normalize_backup_code(code: str) -> str | None:
    """As typed (any case, spaces and hyphens, I/L for 1 and O for 0) to the stored form;
    ``None`` when it cannot be a backup code."""
    value = code.strip().lower().translate(_CROCKFORD)
    if len(value) != BACKUP_CODE_LENGTH or not all(ch in BACKUP_ALPHABET for ch in value):
        return None
    return value


def is_six_digits(code: str) -> bool:
    """The shape of an authenticator's or an emailed code (anything else may be a backup code)."""
    return len(code) == 6 and code.isascii() and code.isdigit()


class MfaMethod(StrEnum):
    TOTP = "totp"
    EMAIL = "email"
    BACKUP_CODE = "backup_code"

    @property
    def amr(self) -> str:
        """The ``amr`` value (RFC 8176 where it has one) an access token carries for it."""
        return _AMR[self]


_AMR = {MfaMethod.TOTP: "otp", MfaMethod.EMAIL: "email", MfaMethod.BACKUP_CODE: "backup_code"}


def amr_after(first: tuple[str, ...], method: MfaMethod) -> tuple[str, ...]:
    """The session's ``amr`` once ``method`` completed a sign-in that began with ``first``."""
    return (*first, method.amr, "mfa")


@dataclass(eq=False, kw_only=True)
class UserMfa:
    """Every second factor of one user: TOTP (enabled, or pending confirmation) and email."""

    user_id: uuid.UUID
    totp_secret: str | None = None  # sealed
    totp_enabled_at: datetime | None = None
    totp_last_step: int | None = None
    totp_pending_secret: str | None = None  # sealed; becomes the secret once a code proves it
    totp_pending_expires_at: datetime | None = None
    email_enabled_at: datetime | None = None
    email_code_hash: bytes | None = None  # the newest emailed code; older ones are gone
    email_code_expires_at: datetime | None = None
    email_code_attempts: int = 0

    @property
    def totp_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def email_enabled(self) -> bool:
        return self.email_enabled_at is not None

    def has_factor(self) -> bool:
        return self.totp_enabled or self.email_enabled

    def is_enabled(self, factor: MfaMethod) -> bool:
        """Whether a factor (``TOTP`` or ``EMAIL``) is on."""
        return self.totp_enabled if factor is MfaMethod.TOTP else self.email_enabled

    def disable(self, factor: MfaMethod) -> None:
        if factor is MfaMethod.TOTP:
            self.disable_totp()
        else:
            self.disable_email()

    def methods(self, backup_codes: int) -> tuple[MfaMethod, ...]:
        """The methods a challenge may be answered with, in the order to offer them."""
        if not self.has_factor():
            return ()
        found = [
            method
            for method, usable in (
                (MfaMethod.TOTP, self.totp_enabled),
                (MfaMethod.EMAIL, self.email_enabled),
                (MfaMethod.BACKUP_CODE, backup_codes > 0),
            )
            if usable
        ]
        return tuple(found)

    # TOTP
    def begin_totp(self, sealed_secret: str, now: datetime, ttl: timedelta) -> None:
        """A new secret awaits its first code; an enabled one keeps working until then."""
        self.totp_pending_secret = sealed_secret
        self.totp_pending_expires_at = now + ttl

    def pending_totp(self, now: datetime) -> str | None:
        expires = self.totp_pending_expires_at
        if self.totp_pending_secret is None or expires is None or now >= expires:
            return None
        return self.totp_pending_secret

    def confirm_totp(self, step: int, now: datetime) -> None:
        """The pending secret produced a valid code (of time step ``step``): it is the secret."""
        self.totp_secret = self.totp_pending_secret
        self.totp_enabled_at = now
        self.totp_last_step = step
        self.totp_pending_secret = None
        self.totp_pending_expires_at = None

    def totp_code_accepted(self, step: int, resealed: str | None = None) -> None:
        """A code of time step ``step`` was accepted: no code of that step or older works again.
        ``resealed``: the secret sealed under the current key, when it was under an older one."""
        self.totp_last_step = step
        if resealed is not None:
            self.totp_secret = resealed

    def disable_totp(self) -> None:
        self.totp_secret = None
        self.totp_enabled_at = None
        self.totp_last_step = None
        self.totp_pending_secret = None
        self.totp_pending_expires_at = None

    # Email codes
    def enable_email(self, now: datetime) -> None:
        if self.email_enabled_at is None:
            self.email_enabled_at = now

    def disable_email(self) -> None:
        self.email_enabled_at = None
        self.void_email_code()

    def issue_email_code(self, code_hash: bytes, expires_at: datetime) -> None:
        """Newest only: the code sent before this one stops working."""
        self.email_code_hash = code_hash
        self.email_code_expires_at = expires_at
        self.email_code_attempts = 0

    def has_email_code(self, now: datetime) -> bool:
        expires = self.email_code_expires_at
        return self.email_code_hash is not None and expires is not None and now < expires

    def spend_email_code(self, candidates: list[bytes], now: datetime) -> bool:
        """Whether the code (its hash under each key version) is the live emailed one. A wrong
        one counts; the fifth wrong one ends the code."""
        if not self.email_enabled or not self.has_email_code(now):
            return False
        if self.email_code_hash in candidates:
            self.void_email_code()
            return True
        self.email_code_attempts += 1
        if self.email_code_attempts >= MAX_CODE_ATTEMPTS:
            self.void_email_code()
        return False

    def void_email_code(self) -> None:
        self.email_code_hash = None
        self.email_code_expires_at = None
        self.email_code_attempts = 0


@dataclass(eq=False, kw_only=True)
class MfaChallenge:
    """A sign-in whose first factor passed and whose second is awaited (the ``mfa_token``)."""

    id: uuid.UUID
    token_hash: bytes
    user_id: uuid.UUID
    amr: tuple[str, ...]  # how the first factor was proven, e.g. ("pwd",)
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at

    def fail(self, now: datetime) -> int:
        """Count a wrong code; the fifth ends the challenge. Return the tries left."""
        self.attempts += 1
        if self.attempts >= MAX_CODE_ATTEMPTS:
            self.used_at = now
        return max(0, MAX_CODE_ATTEMPTS - self.attempts)

    def spend(self, now: datetime) -> None:
        self.used_at = now
