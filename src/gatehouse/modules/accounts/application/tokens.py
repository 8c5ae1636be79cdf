"""One-time secrets for mailed links: 256 random bits, only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_secret(secret: str) -> bytes:
    # The secret has 256 bits of entropy, so a plain SHA-256 is enough: no dictionary to try.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
