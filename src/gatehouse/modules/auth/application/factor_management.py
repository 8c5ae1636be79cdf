"""The signed-in user's second factors: enrol and confirm TOTP, turn email codes on and off,
make backup codes, and show where they stand.

Every change locks the user's ``UserMfa`` row and, in the same transaction, writes an audit
event, mails a notice to the account's address and updates the account's MFA summary
(``FactorChanges``). Changes that weaken or replace a factor take a ``StepUpProof``. Mailing a
code to use is in ``email_codes``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountSnapshot,
    EmailNotVerified,
    ReauthFailed,
)
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.ports import (
    AuthUnitOfWork,
    CodeHasher,
    QrCodes,
    SecretBox,
    TotpCodes,
)
from gatehouse.modules.auth.application.second_factors import (
    SecondFactor,
    summary_changed,
    when,
)
from gatehouse.modules.auth.domain.errors import (
    MfaNotEnabled,
    TotpCodeInvalid,
    TotpEnrolmentMissing,
)
from gatehouse.modules.auth.domain.mfa import (
    BACKUP_CODE_COUNT,
    FEW_BACKUP_CODES,
    MfaMethod,
    UserMfa,
    new_backup_code,
)
from gatehouse.modules.notifications.application.public import (
    OutgoingMail,
)
from gatehouse.shared.clock import Clock
from gatehouse.shared.step_up import StepUpProof

ENROLMENT_TTL = timedelta(minutes=15)  # to scan the QR code and type the first code


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asked: for audit events and the language of notices."""

    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


@dataclass(frozen=True, slots=True)
class MfaStatus:
    totp: bool
    email: bool
    backup_codes_remaining: int
    totp_pending: bool  # an authenticator setup awaits its first code
    few_backup_codes: bool


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    secret: str  # base 32, for typing in by hand
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True, slots=True)
class GetMfaStatus:
    user_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class MfaChange:
    """A change to the caller's factors, proven by a step-up."""

    proof: StepUpProof
    caller: Caller = Caller()


@dataclass(frozen=True, slots=True)
class ConfirmTotp:
    user_id: uuid.UUID
    code: str
    caller: Caller = Caller()


class FactorChanges:
    """What every change to a user's factors does besides the change itself."""

    def __init__(self, *, accounts: AccountDirectory, hasher: CodeHasher, clock: Clock) -> None:
        self._accounts = accounts
        self._hasher = hasher
        self._clock = clock

    async def account(self, user_id: uuid.UUID) -> AccountSnapshot:
        """The active account whose factors change (403 ``reauth_failed`` when it is gone)."""
        account = await self._accounts.get(user_id)
        if account is None or not account.is_active:
            raise ReauthFailed
        return account

    async def record(
        self,
        uow: AuthUnitOfWork,
        mfa: UserMfa,
        account: AccountSnapshot,
        change: str,
        caller: Caller,
    ) -> None:
        """Record ``change`` (``totp_enabled``, ...): summary, audit event, notice; and when
        no factor is left, the backup codes go too."""
        if not mfa.has_factor():
            await uow.mfa.delete_backup_codes(mfa.user_id)
        remaining = await uow.mfa.backup_codes_remaining(mfa.user_id)
        uow.record(summary_changed(mfa, remaining))
        uow.record(
            SecurityEvent(
                type=f"mfa.{change}",
                user_id=mfa.user_id,
                ip=caller.ip,
                user_agent=caller.user_agent,
            )
        )
        uow.record(
            OutgoingMail(
                account.email,
                "mfa_changed",
                {"change": change, "when": when(self._clock.now())},
                account.locale or caller.locale,
            )
        )

    async def new_backup_codes(self, uow: AuthUnitOfWork, user_id: uuid.UUID) -> list[str]:
        codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
        hashes = [self._hasher.digest(user_id, code) for code in codes]
        await uow.mfa.replace_backup_codes(user_id, hashes, self._clock.now())
        return codes


class GetMfaStatusHandler:
    def __init__(self, *, uow: Callable[[], AuthUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def __call__(self, query: GetMfaStatus) -> MfaStatus:
        async with self._uow() as uow:
            mfa = await uow.mfa.get(query.user_id) or UserMfa(user_id=query.user_id)
            remaining = await uow.mfa.backup_codes_remaining(query.user_id)
        return MfaStatus(
            totp=mfa.totp_enabled,
            email=mfa.email_enabled,
            backup_codes_remaining=remaining,
            totp_pending=mfa.pending_totp(self._clock.now()) is not None,
            few_backup_codes=mfa.has_factor() and remaining <= FEW_BACKUP_CODES,
        )


class BeginTotpHandler:
    """A new authenticator secret, pending until a code from it is confirmed. An enabled
    authenticator keeps working meanwhile: confirming replaces it."""

    def __init__(
        self,
        *,
        uow: Callable[[], AuthUnitOfWork],
        changes: FactorChanges,
        box: SecretBox,
        totp: TotpCodes,
        qr: QrCodes,
        clock: Clock,
        issuer: str,
    ) -> None:
        self._uow = uow
        self._changes = changes
        self._box = box
        self._totp = totp
        self._qr = qr
        self._clock = clock
        self._issuer = issuer

    async def __call__(self, cmd: MfaChange) -> TotpEnrolment:
        account = await self._changes.account(cmd.proof.user_id)
        secret = self._totp.new_secret()
        async with self._uow() as uow:
            mfa = await uow.mfa.get_or_add(account.user_id)
            mfa.begin_totp(self._box.seal(secret.encode("ascii")), self._clock.now(), ENROLMENT_TTL)
            await uow.commit()
        uri = self._totp.provisioning_uri(secret, account.email, self._issuer)
        return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=self._qr.svg(uri))


class ConfirmTotpHandler:
    """A code from the pending secret turns it on; a new set of backup codes comes back."""

    def __init__(
        self,
        *,
        uow: Callable[[], AuthUnitOfWork],
        changes: FactorChanges,
        factor: SecondFactor,
        totp: TotpCodes,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._changes = changes
        self._factor = factor
        self._totp = totp
        self._clock = clock

    async def __call__(self, cmd: ConfirmTotp) -> list[str]:
        account = await self._changes.account(cmd.user_id)
        async with self._uow() as uow:
            now = self._clock.now()
            mfa = await uow.mfa.get(cmd.user_id, for_update=True)
            pending = None if mfa is None else mfa.pending_totp(now)
            if mfa is None or pending is None:
                raise TotpEnrolmentMissing
            step = self._totp.accept(self._factor.open_secret(pending), cmd.code, now, None)
            if step is None:
                raise TotpCodeInvalid
            mfa.confirm_totp(step, now)
            codes = await self._changes.new_backup_codes(uow, cmd.user_id)
            await self._changes.record(uow, mfa, account, "totp_enabled", cmd.caller)
            await uow.commit()
        return codes


class EnableEmailFactorHandler:
    """Codes by mail to the account's (verified) address. Turning it on again changes nothing."""

    def __init__(
        self, *, uow: Callable[[], AuthUnitOfWork], changes: FactorChanges, clock: Clock
    ) -> None:
        self._uow = uow
        self._changes = changes
        self._clock = clock

    async def __call__(self, cmd: MfaChange) -> None:
        account = await self._changes.account(cmd.proof.user_id)
        if not account.email_verified:
            raise EmailNotVerified("verify the address before it can receive sign-in codes")
        async with self._uow() as uow:
            mfa = await uow.mfa.get_or_add(account.user_id)
            if mfa.email_enabled:
                return
            mfa.enable_email(self._clock.now())
            await self._changes.record(uow, mfa, account, "email_enabled", cmd.caller)
            await uow.commit()


class DisableFactorHandler:
    """Turn one factor (``totp`` or ``email``) off; 409 ``mfa_not_enabled`` when it is off."""

    def __init__(
        self, *, uow: Callable[[], AuthUnitOfWork], changes: FactorChanges, method: MfaMethod
    ) -> None:
        self._uow = uow
        self._changes = changes
        self._method = method

    async def __call__(self, cmd: MfaChange) -> None:
        account = await self._changes.account(cmd.proof.user_id)
        async with self._uow() as uow:
            mfa = await uow.mfa.get(account.user_id, for_update=True)
            if mfa is None or not mfa.is_enabled(self._method):
                raise MfaNotEnabled(f"{self._method.value} is not turned on")
            mfa.disable(self._method)
            change = f"{self._method.value}_disabled"
            await self._changes.record(uow, mfa, account, change, cmd.caller)
            await uow.commit()


class RegenerateBackupCodesHandler:
    def __init__(self, *, uow: Callable[[], AuthUnitOfWork], changes: FactorChanges) -> None:
        self._uow = uow
        self._changes = changes

    async def __call__(self, cmd: MfaChange) -> list[str]:
        account = await self._changes.account(cmd.proof.user_id)
        async with self._uow() as uow:
            mfa = await uow.mfa.get(account.user_id, for_update=True)
            if mfa is None or not mfa.has_factor():
                raise MfaNotEnabled("turn on an authenticator or email codes first")
            codes = await self._changes.new_backup_codes(uow, account.user_id)
            await self._changes.record(uow, mfa, account, "backup_codes_regenerated", cmd.caller)
            await uow.commit()
        return codes
