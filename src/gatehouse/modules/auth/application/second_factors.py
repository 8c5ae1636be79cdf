"""Checking a second factor: a code against whichever of a user's factors it belongs to.

Used by the MFA step of a sign-in (the client names the method) and by step-up (the client sends
just a code). Every check runs in the caller's transaction with the user's ``UserMfa`` row
locked: a TOTP code moves the high-water mark, an emailed code is spent or counts a failure, a
backup code is spent, the account's MFA summary follows and its owner gets a notice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.accounts.application.public import (
    AccountSnapshot,
    MfaSummary,
    MfaSummaryChanged,
)
from gatehouse.modules.auth.application.ports import (
    AuthUnitOfWork,
    CodeHasher,
    SecretBox,
    SecretUnreadable,
    TotpCodes,
)
from gatehouse.modules.auth.domain.mfa import (
    MfaMethod,
    UserMfa,
    is_six_digits,
    normalize_backup_code,
)
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.errors import Unavailable


def challenge_hash(mfa_token: str) -> bytes:
    """How an ``mfa_token`` is stored: 256 random bits need no salt or stretching."""
    return hashlib.sha256(mfa_token.encode("utf-8", "surrogatepass")).digest()


def when(now: datetime) -> str:
    """A time as notices show it."""
    return now.strftime("%Y-%m-%d %H:%M")


def summary_changed(mfa: UserMfa, backup_codes: int) -> MfaSummaryChanged:
    """For accounts' copy of the user's MFA state (``GET /me``)."""
    return MfaSummaryChanged(
        user_id=mfa.user_id,
        summary=MfaSummary(
            totp=mfa.totp_enabled, email=mfa.email_enabled, backup_codes_remaining=backup_codes
        ),
    )


@dataclass(frozen=True, slots=True)
class BackupCodeNotice:
    """The mail that tells the account's owner a backup code was used, and how many remain."""

    account: AccountSnapshot
    locale: str

    def mail(self, remaining: int, now: datetime) -> OutgoingMail:
        return OutgoingMail(
            self.account.email,
            "backup_code_used",
            {"when": when(now), "remaining": str(remaining)},
            self.account.locale or self.locale,
        )


class SecondFactor:
    def __init__(self, *, box: SecretBox, totp: TotpCodes, hasher: CodeHasher) -> None:
        self._box = box
        self._totp = totp
        self._hasher = hasher

    def open_secret(self, sealed: str) -> str:
        try:
            return self._box.open(sealed).decode("ascii")
        except SecretUnreadable as error:
            msg = "an authenticator secret cannot be read: its encryption key is missing"
            raise Unavailable(msg) from error

    async def check(
        self,
        uow: AuthUnitOfWork,
        mfa: UserMfa,
        method: MfaMethod,
        code: str,
        now: datetime,
        *,
        notice: BackupCodeNotice,
    ) -> bool:
        if method is MfaMethod.TOTP:
            return self._check_totp(mfa, code, now)
        if method is MfaMethod.EMAIL:
            return mfa.spend_email_code(self._hasher.candidates(mfa.user_id, code), now)
        normalized = normalize_backup_code(code)
        if normalized is None or not await uow.mfa.use_backup_code(
            mfa.user_id, self._hasher.candidates(mfa.user_id, normalized), now
        ):
            return False
        remaining = await uow.mfa.backup_codes_remaining(mfa.user_id)
        uow.record(summary_changed(mfa, remaining))
        uow.record(notice.mail(remaining, now))
        return True

    async def identify(
        self,
        uow: AuthUnitOfWork,
        mfa: UserMfa,
        code: str,
        now: datetime,
        *,
        notice: BackupCodeNotice,
    ) -> MfaMethod | None:
        """For step-up, where the client sends just a code: six digits are an authenticator's
        or the emailed code, anything else a backup code. Spends it; ``None`` if it is none."""
        if is_six_digits(code):
            if mfa.totp_enabled and self._check_totp(mfa, code, now):
                return MfaMethod.TOTP
            if mfa.email_enabled and mfa.has_email_code(now):
                candidates = self._hasher.candidates(mfa.user_id, code)
                return MfaMethod.EMAIL if mfa.spend_email_code(candidates, now) else None
            return None
        method = MfaMethod.BACKUP_CODE
        return method if await self.check(uow, mfa, method, code, now, notice=notice) else None

    def _check_totp(self, mfa: UserMfa, code: str, now: datetime) -> bool:
        if mfa.totp_secret is None:
            return False
        secret = self.open_secret(mfa.totp_secret)
        step = self._totp.accept(secret, code, now, mfa.totp_last_step)
        if step is None:
            return False
        current = self._box.is_current(mfa.totp_secret)  # else sealed under an older key
        mfa.totp_code_accepted(step, None if current else self._box.seal(secret.encode("ascii")))
        return True
