"""The signed-in user's second factors: enrol and confirm TOTP, turn email codes on and off,
make backup codes, and check a code against whichever factor it belongs to.

Every change to a user's factors locks their ``UserMfa`` row, writes an audit event, mails a
notice to the account's address, and updates the account's MFA summary, in one transaction.
Changes that weaken or replace a factor take a ``StepUpProof`` (the password or a fresh code).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountSnapshot,
    EmailNotVerified,
    MfaSummary,
    ReauthFailed,
)
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.ports import (
    AuthUnitOfWork,
    CodeHasher,
    QrCodes,
    SecretBox,
    SecretUnreadable,
    TotpCodes,
)
from gatehouse.modules.auth.domain.errors import (
    MailCapReached,
    MfaMethodUnavailable,
    MfaNotEnabled,
    MfaTokenInvalid,
    TotpCodeInvalid,
    TotpEnrolmentMissing,
)
from gatehouse.modules.auth.domain.mfa import (
    BACKUP_CODE_COUNT,
    FEW_BACKUP_CODES,
    MfaChallenge,
    MfaMethod,
    UserMfa,
)
from gatehouse.modules.notifications.application.public import MailCaps, OutgoingMail
from gatehouse.shared.clock import Clock
from gatehouse.shared.errors import Unavailable
from gatehouse.shared.ids import new_id
from gatehouse.shared.step_up import StepUpProof

CHALLENGE_TTL = timedelta(minutes=5)  # the mfa_token's life
ENROLMENT_TTL = timedelta(minutes=15)  # to scan the QR code and type the first code
EMAIL_CODE_TTL = timedelta(minutes=10)
BACKUP_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base 32: no i, l, o, u
BACKUP_CODE_LENGTH = 10  # 50 bits
_CROCKFORD = str.maketrans({"i": "1", "l": "1", "o": "0", "-": None, " ": None})


def new_backup_code() -> str:
    return "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))


def normalize_backup_code(code: str) -> str | None:
    """As typed (any case, spaces and hyphens, I/L for 1 and O for 0) to the stored form."""
    value = code.strip().lower().translate(_CROCKFORD)
    if len(value) != BACKUP_CODE_LENGTH or not all(ch in BACKUP_ALPHABET for ch in value):
        return None
    return value


def is_six_digits(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def challenge_hash(mfa_token: str) -> bytes:
    """How an ``mfa_token`` is stored: 256 random bits need no salt or stretching."""
    return hashlib.sha256(mfa_token.encode("utf-8", "surrogatepass")).digest()


def _when(now: datetime) -> str:
    return now.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asked: for audit events and the language of notices."""

    ip: str | None = None
    user_agent: str | None = None
    locale: str = "en"


class SecondFactor:
    """Checks a code against one of a user's factors, inside the caller's transaction, with the
    user's ``UserMfa`` row locked. A TOTP code moves the high-water mark, an emailed code is
    spent or counts a failure, a backup code is spent (and its notice queued)."""

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
        await uow.mfa_summary.record(mfa.user_id, summary_of(mfa, remaining))
        await uow.outbox.enqueue(notice.mail(remaining, now))
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
        mfa.totp_last_step = step
        if not self._box.is_current(mfa.totp_secret):  # sealed under an older key version
            mfa.totp_secret = self._box.seal(secret.encode("ascii"))
        return True


@dataclass(frozen=True, slots=True)
class BackupCodeNotice:
    """The mail that tells the account's owner a backup code was used, and how many remain."""

    account: AccountSnapshot
    locale: str

    def mail(self, remaining: int, now: datetime) -> OutgoingMail:
        return OutgoingMail(
            self.account.email,
            "backup_code_used",
            {"when": _when(now), "remaining": str(remaining)},
            self.account.locale or self.locale,
        )


def summary_of(mfa: UserMfa, backup_codes: int) -> MfaSummary:
    return MfaSummary(
        totp=mfa.totp_enabled, email=mfa.email_enabled, backup_codes_remaining=backup_codes
    )


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The answer to a first factor when a second is needed: the ``mfa_token`` to answer with."""

    mfa_token: str
    methods: tuple[MfaMethod, ...]
    expires_in: int


async def open_challenge(
    uow: AuthUnitOfWork, mfa: UserMfa, amr: tuple[str, ...], now: datetime
) -> MfaRequired:
    """Start the second half of a sign-in whose first factor (``amr``) passed."""
    token = secrets.token_urlsafe(32)
    methods = mfa.methods(await uow.mfa.backup_codes_remaining(mfa.user_id))
    await uow.challenges.add(
        MfaChallenge(
            id=new_id(),
            token_hash=challenge_hash(token),
            user_id=mfa.user_id,
            amr=amr,
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    return MfaRequired(token, methods, int(CHALLENGE_TTL.total_seconds()))


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
class MfaChange:
    """A change to the caller's factors, proven by a step-up."""

    proof: StepUpProof
    caller: Caller = Caller()


@dataclass(frozen=True, slots=True)
class ConfirmTotp:
    user_id: uuid.UUID
    code: str
    caller: Caller = Caller()


@dataclass(frozen=True, slots=True)
class SendEmailCode:
    """To the account's address: for a sign-in (``mfa_token``) or a step-up (``user_id``)."""

    user_id: uuid.UUID | None = None
    mfa_token: str | None = None
    locale: str = "en"


class MfaHandler:
    """What every MFA use case needs; the helpers write a change's consequences."""

    def __init__(
        self,
        *,
        uow: Callable[[], AuthUnitOfWork],
        accounts: AccountDirectory,
        factor: SecondFactor,
        box: SecretBox,
        totp: TotpCodes,
        hasher: CodeHasher,
        qr: QrCodes,
        caps: MailCaps,
        clock: Clock,
        issuer: str,
    ) -> None:
        self._uow = uow
        self._accounts = accounts
        self._factor = factor
        self._box = box
        self._totp = totp
        self._hasher = hasher
        self._qr = qr
        self._caps = caps
        self._clock = clock
        self._issuer = issuer

    async def _account(self, user_id: uuid.UUID) -> AccountSnapshot:
        account = await self._accounts.get(user_id)
        if account is None or not account.is_active:
            raise ReauthFailed
        return account

    async def _changed(
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
        await uow.mfa_summary.record(mfa.user_id, summary_of(mfa, remaining))
        await uow.audit.record(
            SecurityEvent(
                type=f"mfa.{change}",
                user_id=mfa.user_id,
                ip=caller.ip,
                user_agent=caller.user_agent,
            )
        )
        await uow.outbox.enqueue(
            OutgoingMail(
                account.email,
                "mfa_changed",
                {"change": change, "when": _when(self._clock.now())},
                account.locale or caller.locale,
            )
        )

    async def _new_backup_codes(self, uow: AuthUnitOfWork, user_id: uuid.UUID) -> list[str]:
        codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
        hashes = [self._hasher.digest(user_id, code) for code in codes]
        await uow.mfa.replace_backup_codes(user_id, hashes, self._clock.now())
        return codes


class GetMfaStatusHandler(MfaHandler):
    async def __call__(self, user_id: uuid.UUID) -> MfaStatus:
        async with self._uow() as uow:
            mfa = await uow.mfa.get(user_id) or UserMfa(user_id=user_id)
            remaining = await uow.mfa.backup_codes_remaining(user_id)
        return MfaStatus(
            totp=mfa.totp_enabled,
            email=mfa.email_enabled,
            backup_codes_remaining=remaining,
            totp_pending=mfa.pending_totp(self._clock.now()) is not None,
            few_backup_codes=mfa.has_factor() and remaining <= FEW_BACKUP_CODES,
        )


class BeginTotpHandler(MfaHandler):
    """A new authenticator secret, pending until a code from it is confirmed. An enabled
    authenticator keeps working meanwhile: confirming replaces it."""

    async def __call__(self, cmd: MfaChange) -> TotpEnrolment:
        account = await self._account(cmd.proof.user_id)
        secret = self._totp.new_secret()
        async with self._uow() as uow:
            mfa = await uow.mfa.get_or_add(account.user_id)
            mfa.begin_totp(self._box.seal(secret.encode("ascii")), self._clock.now(), ENROLMENT_TTL)
            await uow.commit()
        uri = self._totp.provisioning_uri(secret, account.email, self._issuer)
        return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=self._qr.svg(uri))


class ConfirmTotpHandler(MfaHandler):
    """A code from the pending secret turns it on; a new set of backup codes comes back."""

    async def __call__(self, cmd: ConfirmTotp) -> list[str]:
        account = await self._account(cmd.user_id)
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
            codes = await self._new_backup_codes(uow, cmd.user_id)
            await self._changed(uow, mfa, account, "totp_enabled", cmd.caller)
            await uow.commit()
        return codes


class EnableEmailFactorHandler(MfaHandler):
    """Codes by mail to the account's (verified) address. Turning it on again changes nothing."""

    async def __call__(self, cmd: MfaChange) -> None:
        account = await self._account(cmd.proof.user_id)
        if not account.email_verified:
            raise EmailNotVerified("verify the address before it can receive sign-in codes")
        async with self._uow() as uow:
            mfa = await uow.mfa.get_or_add(account.user_id)
            if mfa.email_enabled:
                return
            mfa.enable_email(self._clock.now())
            await self._changed(uow, mfa, account, "email_enabled", cmd.caller)
            await uow.commit()


class DisableFactorHandler(MfaHandler):
    """Turn one factor (``totp`` or ``email``) off; 409 ``mfa_not_enabled`` when it is off."""

    def __init__(self, *, method: MfaMethod, **parts: Any) -> None:
        super().__init__(**parts)
        self._method = method

    async def __call__(self, cmd: MfaChange) -> None:
        account = await self._account(cmd.proof.user_id)
        async with self._uow() as uow:
            mfa = await uow.mfa.get(account.user_id, for_update=True)
            if mfa is None or not mfa.is_enabled(self._method):
                raise MfaNotEnabled(f"{self._method.value} is not turned on")
            mfa.disable(self._method)
            await self._changed(uow, mfa, account, f"{self._method.value}_disabled", cmd.caller)
            await uow.commit()


class RegenerateBackupCodesHandler(MfaHandler):
    async def __call__(self, cmd: MfaChange) -> list[str]:
        account = await self._account(cmd.proof.user_id)
        async with self._uow() as uow:
            mfa = await uow.mfa.get(account.user_id, for_update=True)
            if mfa is None or not mfa.has_factor():
                raise MfaNotEnabled("turn on an authenticator or email codes first")
            codes = await self._new_backup_codes(uow, account.user_id)
            await self._changed(uow, mfa, account, "backup_codes_regenerated", cmd.caller)
            await uow.commit()
        return codes


class SendEmailCodeHandler(MfaHandler):
    """A six-digit code to the account's address, valid 10 minutes for five tries; it voids the
    code sent before it. Counts against the address's mail caps (429 over them)."""

    async def __call__(self, cmd: SendEmailCode) -> None:
        async with self._uow() as uow:
            now = self._clock.now()
            user_id = cmd.user_id
            if cmd.mfa_token is not None:
                challenge = await uow.challenges.get(challenge_hash(cmd.mfa_token))
                if challenge is None or not challenge.is_open(now):
                    raise MfaTokenInvalid
                user_id = challenge.user_id
            if user_id is None:
                msg = "a user or an mfa_token is needed"
                raise ValueError(msg)
            mfa = await uow.mfa.get(user_id, for_update=True)
            if mfa is None or not mfa.email_enabled:
                raise MfaMethodUnavailable("sign-in codes by email are not turned on")
            account = await self._account(user_id)
            if not await self._caps.allow(account.email):
                raise MailCapReached(60)
            code = f"{secrets.randbelow(1_000_000):06d}"
            mfa.issue_email_code(self._hasher.digest(user_id, code), now + EMAIL_CODE_TTL)
            await uow.outbox.enqueue(
                OutgoingMail(
                    account.email,
                    "mfa_email_code",
                    {"code": code, "minutes": str(int(EMAIL_CODE_TTL.total_seconds() // 60))},
                    account.locale or cmd.locale,
                )
            )
            await uow.commit()
