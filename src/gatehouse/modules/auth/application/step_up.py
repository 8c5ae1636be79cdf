"""Step-up: the signed-in user proves the password, or gives a fresh MFA code, again.

Every module's sensitive routes use it (``shared.http.security.StepUpRequired``). A wrong
password or code counts as a failed sign-in against the account and the client IP (the
lockout of ``application.lockout``), so a stolen access token cannot be used to search the
password or the six-digit code space.
"""

from __future__ import annotations

from collections.abc import Callable

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountSnapshot,
    ReauthFailed,
)
from gatehouse.modules.auth.application.lockout import guarded
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, Lockout, SignInAttempt
from gatehouse.modules.auth.application.second_factors import BackupCodeNotice, SecondFactor
from gatehouse.shared.clock import Clock
from gatehouse.shared.principal import Principal
from gatehouse.shared.step_up import StepUp, StepUpProof


class StepUpHandler(StepUp):
    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        uow: Callable[[], AuthUnitOfWork],
        factor: SecondFactor,
        lockout: Lockout,
        clock: Clock,
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._factor = factor
        self._lockout = lockout
        self._clock = clock

    async def prove(
        self,
        principal: Principal,
        *,
        password: str | None,
        code: str | None,
        locale: str = "en",
        ip: str | None = None,
    ) -> StepUpProof:
        account = await self._accounts.get(principal.user_id)
        if account is None or not account.is_active:
            raise ReauthFailed
        async with guarded(self._lockout, SignInAttempt(account.email, ip), wrong=(ReauthFailed,)):
            if password is not None:
                await self._accounts.reauthenticate(principal.user_id, password)
                method = "pwd"
            elif code is not None:
                method = await self._code(account, code, locale)
            else:
                raise ReauthFailed("send the password or a code")
        return StepUpProof(principal.user_id, method, self._clock.now())

    async def _code(self, account: AccountSnapshot, code: str, locale: str) -> str:
        async with self._uow() as uow:
            mfa = await uow.mfa.get(account.user_id, for_update=True)
            if mfa is None or not mfa.has_factor():
                raise ReauthFailed("two-step verification is off: send the password")
            now = self._clock.now()
            notice = BackupCodeNotice(account, locale)
            method = await self._factor.identify(uow, mfa, code, now, notice=notice)
            await uow.commit()  # a spent code stays spent; a wrong emailed code counts
        if method is None:
            raise ReauthFailed
        return method.value
