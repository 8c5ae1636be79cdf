"""Signing keys: Ed25519 private keys as PEM files in one directory.

Every key in the directory is published in the JWKS and accepted for verification; ``kid`` is
the key's RFC 7638 thumbprint. Exactly one key signs: the newest one that has been in the
directory for the activation delay, so every process has loaded a new key (processes re-read the
directory periodically) before any token signed with it exists. A key is retired (moved to
``retired/``, no longer published) once every token it can have signed has expired: its
successor has been signing for longer than an access token lives. See ADR 0007.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gatehouse.shared.clock import Clock
from gatehouse.shared.files import create_whole

log = logging.getLogger("gatehouse.auth")

ALGORITHM = "EdDSA"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
RETIRED = "retired"


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
    created_at: datetime
    path: Path

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True, slots=True)
class KeyRing:
    active: SigningKey
    keys: tuple[SigningKey, ...]  # oldest first

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {key.kid: key.public_key for key in self.keys}

    @property
    def fingerprint(self) -> tuple[str, tuple[str, ...]]:
        return self.active.kid, tuple(key.kid for key in self.keys)


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    activation_delay: timedelta  # a new key signs only once every process has loaded it
    token_lifetime: timedelta  # how long after its last signature a key's tokens can be valid

    def active(self, keys: Sequence[SigningKey], now: datetime) -> SigningKey:
        """The newest key past the activation delay; the oldest key when none is (first key)."""
        ready = [key for key in keys if key.created_at + self.activation_delay <= now]
        return ready[-1] if ready else keys[0]

    def retirable(self, keys: Sequence[SigningKey], now: datetime) -> list[SigningKey]:
        """Keys older than the signer whose successor has signed for a whole token lifetime."""
        active = keys.index(self.active(keys, now))
        return [
            key
            for key, successor in itertools.pairwise(keys[: active + 1])
            if successor.created_at + self.activation_delay + self.token_lifetime <= now
        ]


def generate_key(directory: Path, now: datetime | None = None) -> Path:
    """Write a new Ed25519 key, readable by its owner only; it signs after the activation delay."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    stamp = (now or datetime.now(UTC)).strftime(STAMP_FORMAT)
    path = directory / f"{stamp}-{thumbprint(key.public_key())[:16]}.pem"
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    if not create_whole(path, pem):  # the name holds the key's thumbprint: never taken
        msg = f"{path} exists already"
        raise FileExistsError(msg)
    return path


def _created_at(path: Path) -> datetime:
    """From a generated file's name; for a key put there by hand, the file's modification time."""
    try:
        return datetime.strptime(path.name.split("-", 1)[0], STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def read_keys(directory: Path) -> list[SigningKey]:
    """Every ``*.pem`` key in the directory, oldest first."""
    keys = []
    for path in directory.glob("*.pem") if directory.is_dir() else ():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            msg = f"{path} is not an Ed25519 private key"
            raise KeyConfigurationError(msg)
        keys.append(
            SigningKey(
                kid=thumbprint(loaded.public_key()),
                private_key=loaded,
                created_at=_created_at(path),
                path=path,
            )
        )
    return sorted(keys, key=lambda key: (key.created_at, key.path.name))


def load_key_ring(
    directory: Path, *, create_if_missing: bool, policy: RotationPolicy, now: datetime
) -> KeyRing:
    keys = read_keys(directory)
    if not keys:
        if not create_if_missing:
            msg = (
                f"no signing key in {directory}: outside dev mode, put an Ed25519 private key "
                "(PKCS#8 PEM) there or run 'gatehouse keys rotate'"
            )
            raise KeyConfigurationError(msg)
        generate_key(directory, now)
        keys = read_keys(directory)
    return KeyRing(active=policy.active(keys, now), keys=tuple(keys))


def retire_keys(directory: Path, policy: RotationPolicy, now: datetime) -> list[Path]:
    """Move the keys no valid token can need any more to ``retired/``; return their new paths."""
    retired = []
    for key in policy.retirable(read_keys(directory), now):
        target = directory / RETIRED / key.path.name
        target.parent.mkdir(exist_ok=True, mode=0o700)
        key.path.rename(target)
        retired.append(target)
    return retired


class KeyRingSource:
    """The key ring as of now: the directory is read again every ``reload_seconds``.

    A failed re-read (a half-copied file, a permissions slip) keeps the ring already loaded.
    """

    def __init__(
        self,
        directory: Path,
        *,
        create_if_missing: bool,
        policy: RotationPolicy,
        clock: Clock,
        reload_seconds: float,
    ) -> None:
        self._directory = directory
        self._policy = policy
        self._clock = clock
        self._reload_seconds = reload_seconds
        self._ring = load_key_ring(
            directory, create_if_missing=create_if_missing, policy=policy, now=clock.now()
        )
        self._loaded = time.monotonic()

    def cache_seconds(self) -> int:
        """How long a client may keep the published keys without missing a new signer.

        Every process publishes a new key within one reload interval of it appearing, and the
        key signs at the activation delay: a copy fetched just before the key showed up must
        have expired by then. With the default delay (two intervals) that is one interval.
        """
        lead = self._policy.activation_delay.total_seconds() - self._reload_seconds
        return max(0, int(lead))

    def current(self) -> KeyRing:
        if time.monotonic() - self._loaded >= self._reload_seconds:
            self._loaded = time.monotonic()
            try:
                ring = load_key_ring(
                    self._directory,
                    create_if_missing=False,
                    policy=self._policy,
                    now=self._clock.now(),
                )
            except (OSError, ValueError, KeyConfigurationError):
                log.warning("signing keys not reloaded; keeping the ones loaded", exc_info=True)
            else:
                if ring.fingerprint != self._ring.fingerprint:  # keep the object when unchanged
                    self._ring = ring
        return self._ring
