"""The second half of a sign-in: an ``mfa_token`` and a code for a token pair.

The challenge row is locked while the code is checked, so one ``mfa_token`` yields at most one
session. A wrong code counts against the token (the fifth voids it) and, for an emailed code,
against that code too. The session's ``amr`` names both factors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.login import (
    SessionStart,
    SessionTokenHandler,
    TokenPair,
)
from gatehouse.modules.auth.application.mfa import (
    BackupCodeNotice,
    SecondFactor,
    challenge_hash,
)
from gatehouse.modules.auth.domain.errors import (
    MfaCodeInvalid,
    MfaMethodUnavailable,
    MfaTokenInvalid,
)
from gatehouse.modules.auth.domain.mfa import MfaMethod, amr_after

MAX_TOKEN_LENGTH = 256


@dataclass(frozen=True, slots=True)
class VerifyMfa:
    mfa_token: str
    method: MfaMethod
    code: str
    user_agent: str | None = None
    ip: str | None = None
    locale: str = "en"


class VerifyMfaHandler(SessionTokenHandler):
    def __init__(self, *, factor: SecondFactor, **parts: Any) -> None:
        super().__init__(**parts)
        self._factor = factor

    async def __call__(self, cmd: VerifyMfa) -> TokenPair:
        if len(cmd.mfa_token) > MAX_TOKEN_LENGTH:
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
            if not await self._factor.check(uow, mfa, cmd.method, cmd.code, now, notice=notice):
                left = challenge.fail(now)
                await uow.audit.record(
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
                method=f"password+{cmd.method.value}",
                user_agent=cmd.user_agent,
                ip=cmd.ip,
                locale=cmd.locale,
            )
            session, refresh_token = await self._start_session(uow, account, start, now)
            await uow.commit()
        return self._pairs(account, session, refresh_token, now)
