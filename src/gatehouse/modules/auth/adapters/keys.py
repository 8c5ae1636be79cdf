"""Signing keys: Ed25519 private keys as PEM files in one directory.

The newest file is the active signer; every key in the directory is published in the JWKS
and accepted for verification. ``kid`` is the key's RFC 7638 thumbprint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"


class KeyConfigurationError(RuntimeError):
    pass


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": _b64url(raw)}


def thumbprint(public_key: Ed25519PublicKey) -> str:
    canonical = json.dumps(public_jwk(public_key), separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True, slots=True)
class KeyRing:
    active: SigningKey
    keys: tuple[SigningKey, ...]

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {key.kid: key.public_key for key in self.keys}


def generate_key(directory: Path) -> Path:
    """Write a new Ed25519 key, readable by its owner only; it becomes the active signer."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{stamp}-{thumbprint(key.public_key())[:16]}.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return path


def load_key_ring(directory: Path, *, create_if_missing: bool) -> KeyRing:
    files = sorted(directory.glob("*.pem")) if directory.is_dir() else []
    if not files:
        if not create_if_missing:
            msg = (
                f"no signing key in {directory}: outside dev mode, put an Ed25519 private key "
                "(PKCS#8 PEM) there or run 'gatehouse keys rotate'"
            )
            raise KeyConfigurationError(msg)
        files = [generate_key(directory)]
    keys = []
    for path in files:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            msg = f"{path} is not an Ed25519 private key"
            raise KeyConfigurationError(msg)
        keys.append(SigningKey(kid=thumbprint(loaded.public_key()), private_key=loaded))
    return KeyRing(active=keys[-1], keys=tuple(keys))
