"""TOTP (RFC 6238) through pyotp: SHA-1, 6 digits, 30 s steps, one step either side accepted.

Each accepted code moves the user's high-water mark to its time step; a code for that step or
an earlier one is refused, so a code works once even within its window.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

from gatehouse.modules.auth.application.ports import TotpCodes

DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1  # steps either side of now
SECRET_LENGTH = 32  # base32 characters: 160 bits, RFC 4226's recommendation


class PyotpCodes(TotpCodes):
    def new_secret(self) -> str:
        return pyotp.random_base32(SECRET_LENGTH)

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
            name=account, issuer_name=issuer
        )

    def accept(self, secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
        """The time step ``code`` belongs to, if it is valid now and newer than ``last_step``."""
        if len(code) != DIGITS or not code.isascii() or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
        current = totp.timecode(now)
        for step in range(current - WINDOW, current + WINDOW + 1):
            if last_step is not None and step <= last_step:
                continue
            if hmac.compare_digest(totp.generate_otp(step), code):
                return step
        return None
