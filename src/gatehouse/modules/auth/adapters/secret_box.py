"""Secrets at rest (TOTP seeds) sealed with Fernet under versioned keys.

``GATEHOUSE_MFA_ENCRYPTION_KEYS`` holds ``VERSION:SECRET`` pairs; each secret is stretched into
a Fernet key with HKDF-SHA256. New seals use the highest version and carry it (``v2:<token>``),
so a key can be rotated: add a version, re-seal on use, drop the old one when nothing uses it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gatehouse.modules.auth.application.ports import SecretBox, SecretUnreadable

_INFO = b"gatehouse mfa secret box v1"


def _fernet(secret: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


class FernetSecretBox(SecretBox):
    def __init__(self, keys: Mapping[int, bytes]) -> None:
        if not keys:
            msg = "at least one key version is needed"
            raise ValueError(msg)
        self._keys = {version: _fernet(secret) for version, secret in keys.items()}
        self._current = max(keys)

    def seal(self, plaintext: bytes) -> str:
        return f"v{self._current}:{self._keys[self._current].encrypt(plaintext).decode('ascii')}"

    def open(self, sealed: str) -> bytes:
        version, _, token = sealed.partition(":")
        key = self._keys.get(int(version[1:])) if version[1:].isdigit() else None
        if key is None or not version.startswith("v"):
            raise SecretUnreadable(f"no key version {version!r}")
        try:
            return key.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as error:
            raise SecretUnreadable("the sealed secret does not open with its key") from error

    def is_current(self, sealed: str) -> bool:
        return sealed.startswith(f"v{self._current}:")
