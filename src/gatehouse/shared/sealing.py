"""Secrets at rest that must be read back, sealed with Fernet under versioned keys: one piece
for every use (auth's TOTP seeds, the mail outbox's parameters).

Keys come as ``{version: secret}`` (the ``VERSION:SECRET`` pairs of a setting). Each secret is
stretched into a Fernet key with HKDF-SHA256 bound to a ``purpose``, so one configured secret
gives unrelated keys to unrelated uses and a value sealed for one use never opens as another.
New seals use the highest version and carry it (``v2:<token>``); every configured version still
opens, so a key is rotated by adding a version and dropped once nothing sealed under it is left.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Unsealable(ValueError):
    """A sealed value that no configured key opens (a dropped key version, a corrupt value)."""


def _fernet(secret: bytes, purpose: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


class VersionedFernet:
    def __init__(self, keys: Mapping[int, bytes], *, purpose: bytes) -> None:
        if not keys:
            msg = "at least one key version is needed"
            raise ValueError(msg)
        self._keys = {version: _fernet(secret, purpose) for version, secret in keys.items()}
        self._current = max(keys)

    def seal(self, plaintext: bytes) -> str:
        return f"v{self._current}:{self._keys[self._current].encrypt(plaintext).decode('ascii')}"

    def open(self, sealed: str) -> bytes:
        """Raises ``Unsealable``."""
        version, _, token = sealed.partition(":")
        key = self._keys.get(int(version[1:])) if version[1:].isdigit() else None
        if key is None or not version.startswith("v"):
            raise Unsealable(f"no key version {version[:12]!r}")
        try:
            return key.decrypt(token.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as error:
            msg = f"the value does not open with key version {version}"
            raise Unsealable(msg) from error

    def is_current(self, sealed: str) -> bool:
        """Sealed with the newest key version (else re-seal it when convenient)."""
        return sealed.startswith(f"v{self._current}:")
