"""Secrets at rest (TOTP seeds) sealed with Fernet under versioned keys (``VersionedFernet``).

``GATEHOUSE_MFA_ENCRYPTION_KEYS`` holds ``VERSION:SECRET`` pairs; new seals use the highest
version and carry it (``v2:<token>``), so a key can be rotated: add a version, re-seal on use,
drop the old one when nothing uses it.
"""

from __future__ import annotations

from collections.abc import Mapping

from gatehouse.modules.auth.application.ports import SecretBox, SecretUnreadable
from gatehouse.shared.sealing import Unsealable, VersionedFernet

_PURPOSE = b"gatehouse mfa secret box v1"


class FernetSecretBox(SecretBox):
    def __init__(self, keys: Mapping[int, bytes]) -> None:
        self._box = VersionedFernet(keys, purpose=_PURPOSE)

    def seal(self, plaintext: bytes) -> str:
        return self._box.seal(plaintext)

    def open(self, sealed: str) -> bytes:
        try:
            return self._box.open(sealed)
        except Unsealable as error:
            raise SecretUnreadable(str(error)) from error

    def is_current(self, sealed: str) -> bool:
        return self._box.is_current(sealed)
