"""The MFA step of a sign-in: an ``mfa_token`` (from ``ChallengeOpener``) and a code.

The challenge row is locked while a code is checked, so one ``mfa_token`` yields at most one
session. A wrong code counts against the token (the fifth voids it) and, for an emailed code,
against that code too. The session's ``amr`` names both factors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gatehouse.modules.accounts.application.public import AccountDirectory
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.lockout import guarded
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, Lockout, SignInAttempt
from gatehouse.modules.auth.application.second_factors import (
    BackupCodeNotice,
    SecondFactor,
    challenge_hash,
)
from gatehouse.modules.auth.application.signing_in import (
    MAX_MFA_TOKEN_LENGTH,
    SessionStart,
    SessionStarter,
    TokenPair,
    TokenPairIssuer,
    first_factor,
)
from gatehouse.modules.auth.domain.errors import (
    MfaCodeInvalid,
    MfaMethodUnavailable,
    MfaTokenInvalid,
)
from gatehouse.modules.auth.domain.mfa import MfaMethod, amr_after
from gatehouse.shared.clock import Clock


@dataclass(frozen=True, slots=True)
class VerifyMfa:
    mfa_token: str
    method: MfaMethod
    code: str
    user_agent: str | None = None
    ip: str | None = None
    locale: str = "en"


class VerifyMfaHandler:
    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        uow: Callable[[], AuthUnitOfWork],
        factor: SecondFactor,
        starter: SessionStarter,
        pairs: TokenPairIssuer,
        lockout: Lockout,
        clock: Clock,
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._factor = factor
        self._starter = starter
        self._pairs = pairs
        self._lockout = lockout
        self._clock = clock

    async def __call__(self, cmd: VerifyMfa) -> TokenPair:
        if len(cmd.mfa_token) > MAX_MFA_TOKEN_LENGTH:
            raise MfaTokenInvalid
        async with self._uow() as uow:
            now = self._clock.now()
            challenge = await uow.challenges.get(challenge_hash(cmd.mfa_token))
            if challenge is None or not challenge.is_open(now):
                raise MfaTokenInvalid
            mfa = await uow.mfa.get(challenge.user_id, for_update=True)
            account = await self._accounts.get(challenge.user_id)
            if mfa is None or account is None or not account.is_active:
                challenge.spend(now)
                await uow.commit()
                raise MfaTokenInvalid
            available = mfa.methods(await uow.mfa.backup_codes_remaining(mfa.user_id))
            if cmd.method not in available:
                raise MfaMethodUnavailable(
                    f"available: {', '.join(method.value for method in available)}"
                )
            notice = BackupCodeNotice(account, cmd.locale)
            attempt = SignInAttempt(account.email, cmd.ip)
            async with guarded(self._lockout, attempt, wrong=(MfaCodeInvalid, MfaTokenInvalid)):
                if not await self._factor.check(uow, mfa, cmd.method, cmd.code, now, notice=notice):
                    left = challenge.fail(now)
                    uow.record(
                        SecurityEvent(
                            type="auth.mfa_failed",
                            user_id=mfa.user_id,
                            ip=cmd.ip,
                            user_agent=cmd.user_agent,
                            details={"method": cmd.method.value, "tries_left": str(left)},
                        )
                    )
                    await uow.commit()
                    if left == 0:
                        raise MfaTokenInvalid("five wrong codes: sign in with the password again")
                    raise MfaCodeInvalid(f"{left} tries left")
            challenge.spend(now)
            start = SessionStart(
                amr=amr_after(challenge.amr, cmd.method),
                method=f"{first_factor(challenge.amr)}+{cmd.method.value}",
                user_agent=cmd.user_agent,
                ip=cmd.ip,
                locale=cmd.locale,
            )
            session, refresh_token = await self._starter.start(uow, account, start, now)
            await uow.commit()
        return self._pairs(account, session, refresh_token, now)
