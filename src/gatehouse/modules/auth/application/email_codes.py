"""Mail a six-digit code to the account's address: for the second step of a sign-in (with the
``mfa_token``) or for a step-up (the signed-in user), when email codes are turned on."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from gatehouse.modules.auth.application.factor_management import FactorChanges
from gatehouse.modules.auth.application.ports import AuthUnitOfWork, CodeHasher
from gatehouse.modules.auth.application.second_factors import challenge_hash
from gatehouse.modules.auth.domain.errors import (
    MailCapReached,
    MfaMethodUnavailable,
    MfaTokenInvalid,
)
from gatehouse.modules.notifications.application.public import (
    MailCaps,
    MailPurpose,
    OutgoingMail,
)
from gatehouse.shared.clock import Clock

EMAIL_CODE_TTL = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class SendEmailCode:
    """To the account's address: for a sign-in (``mfa_token``) or a step-up (``user_id``)."""

    user_id: uuid.UUID | None = None
    mfa_token: str | None = None
    locale: str = "en"


class SendEmailCodeHandler:
    """A six-digit code to the account's address, valid 10 minutes for five tries; it voids the
    code sent before it. Counts against the address's mail caps (429 over them)."""

    def __init__(
        self,
        *,
        uow: Callable[[], AuthUnitOfWork],
        changes: FactorChanges,
        hasher: CodeHasher,
        caps: MailCaps,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._changes = changes
        self._hasher = hasher
        self._caps = caps
        self._clock = clock

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
            account = await self._changes.account(user_id)
            if not await self._caps.allow(account.email, MailPurpose.EMAIL_CODE):
                raise MailCapReached(60)
            code = f"{secrets.randbelow(1_000_000):06d}"
            mfa.issue_email_code(self._hasher.digest(user_id, code), now + EMAIL_CODE_TTL)
            uow.record(
                OutgoingMail(
                    account.email,
                    "mfa_email_code",
                    {"code": code, "minutes": str(int(EMAIL_CODE_TTL.total_seconds() // 60))},
                    account.locale or cmd.locale,
                )
            )
            await uow.commit()
