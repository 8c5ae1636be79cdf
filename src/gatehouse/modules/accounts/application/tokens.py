"""One-time secrets for mailed links: 256 random bits, only a hash is stored; and the short
code a verification mail carries beside its link, bound to that link's token."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


CODE_DIGITS = 6


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(token_hash: bytes, code: str) -> bytes:
    """A code is only worth trying against its own token: bound by that token's hash. Six
    digits cannot resist a search by someone holding the database; they resist one through
    the API, where each token allows ``MAX_CODE_ATTEMPTS`` wrong codes."""
    return hashlib.sha256(token_hash + code.encode("ascii")).digest()


def hash_secret(secret: str) -> bytes:
    # The secret has 256 bits of entropy, so a plain SHA-256 is enough: no dictionary to try.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()
