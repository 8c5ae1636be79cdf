"""The password policy from the contract: length, no composition rules, no common passwords."""

from __future__ import annotations

from collections.abc import Container

from gatehouse.modules.accounts.domain.errors import WeakPassword
from gatehouse.modules.accounts.domain.model import Email

MIN_LENGTH = 8
MAX_LENGTH = 1024
MIN_LOCAL_PART_TO_CHECK = 3


class PasswordPolicy:
    """Checks a candidate password exactly as typed (no trimming, no case folding of the input).

    ``common`` holds the bundled common/breached list, lower-cased; a password is refused when its
    lower-cased form is on it, so "Password1" does not slip past "password1".
    """

    def __init__(self, common: Container[str]) -> None:
        self._common = common

    def check(self, password: str, email: Email | None = None, *, field: str = "password") -> None:
        """Raises ``WeakPassword`` naming ``field``, the command field the password came in."""
        length = len(password)  # code points
        if length < MIN_LENGTH:
            raise WeakPassword(
                f"the password must be at least {MIN_LENGTH} characters long", field=field
            )
        if length > MAX_LENGTH:
            raise WeakPassword(
                f"the password must be at most {MAX_LENGTH} characters long", field=field
            )
        folded = password.casefold()
        if folded in self._common:
            raise WeakPassword("the password is too common; choose another", field=field)
        if email is not None:
            local = email.local_part.casefold()
            if len(local) >= MIN_LOCAL_PART_TO_CHECK and local in folded:
                raise WeakPassword("the password must not contain your email address", field=field)
