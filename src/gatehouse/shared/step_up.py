"""Step-up: proof, just given, that the signed-in user is at the keyboard.

Sensitive changes (password, email, MFA, account deletion, admin) ask for the password or a
fresh MFA code although the caller holds a valid access token. The auth module implements
``StepUp``; any module's route asks for it (``gatehouse.shared.http.security.StepUpRequired``)
and hands the resulting ``StepUpProof`` to its use case, which checks that the proof is the
acting user's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gatehouse.shared.principal import Principal


@dataclass(frozen=True, slots=True)
class StepUpProof:
    user_id: uuid.UUID
    method: str  # "pwd", or the MFA method whose code was given: "totp", "email", "backup_code"
    at: datetime


class StepUp(Protocol):
    async def prove(
        self,
        principal: Principal,
        *,
        password: str | None,
        code: str | None,
        locale: str = "en",
        ip: str | None = None,
    ) -> StepUpProof:
        """Check the password, or else the MFA code, of the principal's user (``locale``: of
        the notice a spent backup code sends, when the account has no saved language; ``ip``:
        the client's, which failures count against as well as the account).

        Raises a ``Forbidden`` error (``reauth_failed``) for a wrong or missing credential and
        ``TooManyRequests`` while the account or the client is locked out after failures.
        """
        ...
