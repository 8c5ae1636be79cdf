"""Refresh tokens: 256 random bits for a new session, HMAC-SHA256 of the parent for a child.

Deriving the child from the parent with a server-side key lets a replay of the parent inside
the grace interval get the very same child again, while only hashes are stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from gatehouse.modules.auth.application.ports import RefreshTokenFactory

TOKEN_BYTES = 32


class HmacRefreshTokens(RefreshTokenFactory):
    def __init__(self, key: bytes) -> None:
        if len(key) < TOKEN_BYTES:
            msg = "the refresh-token key must be at least 32 bytes"
            raise ValueError(msg)
        self._key = key

    def new(self) -> str:
        return secrets.token_urlsafe(TOKEN_BYTES)

    def child_of(self, parent: str) -> str:
        digest = hmac.digest(self._key, parent.encode("ascii"), "sha256")
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def csrf_for(self, session_id: uuid.UUID) -> str:
        digest = hmac.digest(self._key, b"csrf:" + session_id.bytes, "sha256")
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def hash(self, token: str) -> bytes:
        return hashlib.sha256(token.encode("ascii", "replace")).digest()
