"""An OpenID provider's documents as Gatehouse keeps them (ADR 0022).

A document (the discovery document, the JWKS) is fetched once for many sign-ins and kept for
the lifetime its answer's ``Cache-Control`` gives, at most an hour; five minutes when it gives
none, or asks not to be stored (a provider that says ``no-store`` is still asked at most every
five minutes). Concurrent fetches of one document are one request (``SingleFlight``). When a
refetch fails, the cached copy is served for another minute before the next attempt. The JWKS
is refetched at once for a key id it does not hold (the provider rotated its keys), at most
once a minute, so tokens naming random key ids cannot make Gatehouse hammer the provider.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import jwt

from gatehouse.modules.auth.domain.errors import ProviderRejected, ProviderUnavailable
from gatehouse.shared.clock import Clock
from gatehouse.shared.coalescing import SingleFlight

log = logging.getLogger("gatehouse.auth")

T = TypeVar("T")

DEFAULT_LIFETIME = timedelta(minutes=5)
MAX_LIFETIME = timedelta(hours=1)
RETRY_AFTER = timedelta(seconds=60)  # a failed refetch: the cached copy serves this long
REFETCH_COOLDOWN = timedelta(seconds=60)  # between refetches of the JWKS for unknown key ids

# The asymmetric JWS algorithms an ID token may be signed with, and the key each needs
# (``kty``, and ``crv`` where the algorithm fixes it). Never ``none``, never HS*.
KEY_TYPES: dict[str, tuple[str, frozenset[str] | None]] = {
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), ("RSA", None)),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}
ASYMMETRIC_ALGORITHMS = frozenset(KEY_TYPES)
_PUBLIC_KEY_TYPES = frozenset(kty for kty, _ in KEY_TYPES.values())
_NEVER = datetime.min.replace(tzinfo=UTC)


def cache_lifetime(cache_control: str | None) -> timedelta:
    """How long to keep a document whose answer carried this ``Cache-Control`` header."""
    directives: dict[str, str] = {}
    for part in (cache_control or "").split(","):
        name, _, value = part.partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return DEFAULT_LIFETIME
    max_age = directives.get("max-age", "")
    seconds = max_age.lstrip("0")
    if not (max_age.isascii() and max_age.isdigit()) or not seconds:
        return DEFAULT_LIFETIME  # none, not a number, or 0 (not to be kept)
    if len(seconds) > 10:  # more than 300 years
        return MAX_LIFETIME
    return min(timedelta(seconds=int(seconds)), MAX_LIFETIME)


class CachedDocument(Generic[T]):
    """``load()`` gives the document and its lifetime, or raises ``ProviderUnavailable``."""

    def __init__(
        self, load: Callable[[], Awaitable[tuple[T, timedelta]]], clock: Clock, *, what: str
    ) -> None:
        self._load = load
        self._clock = clock
        self._what = what
        self._value: T | None = None
        self._fresh_until = _NEVER
        self._flight = SingleFlight(self._fetch)

    async def get(self) -> T:
        """The cached copy while it is fresh, else a new one (the cached one if that fails)."""
        if self._value is not None and self._clock.now() < self._fresh_until:
            return self._value
        return await self._flight.run()

    async def refetch(self) -> T:
        """A new copy now, or the cached one if that fails."""
        return await self._flight.run()

    async def _fetch(self) -> T:
        try:
            value, lifetime = await self._load()
        except ProviderUnavailable as error:
            if self._value is None:
                raise
            self._fresh_until = self._clock.now() + RETRY_AFTER
            log.warning("%s not refreshed, the cached copy serves: %s", self._what, error.detail)
            return self._value
        self._value = value
        self._fresh_until = self._clock.now() + lifetime
        return value


def _fits(jwk: Mapping[str, Any], alg: str) -> bool:
    """A public signing key of the type ``alg`` needs, not marked for another algorithm."""
    kty, curves = KEY_TYPES[alg]
    return (
        jwk.get("kty") == kty
        and (curves is None or jwk.get("crv") in curves)
        and jwk.get("use", "sig") == "sig"
        and jwk.get("alg", alg) == alg
    )


class KeySet:
    """A JWKS's public signing keys (RSA, EC, OKP; symmetric and private keys are dropped)."""

    def __init__(self, keys: Sequence[Mapping[str, Any]]) -> None:
        self._keys = keys
        self._built: dict[tuple[int, str], jwt.PyJWK] = {}

    @classmethod
    def parse(cls, document: object) -> KeySet:
        """Raises ``ValueError`` for a document with no usable key."""
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("the JWKS has no keys list")
        keys = [
            entry
            for entry in entries
            if isinstance(entry, dict)
            and entry.get("kty") in _PUBLIC_KEY_TYPES
            and "d" not in entry  # a private key has no business in a JWKS
            and isinstance(entry.get("kid", ""), str)
        ]
        if not keys:
            raise ValueError("the JWKS has no public signing key")
        return cls(keys)

    def select(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key for a token's header: ``None`` when no key has that ``kid``; raises
        ``ProviderRejected`` when the key with that ``kid`` is not one for ``alg``, or, with no
        ``kid``, unless exactly one key fits ``alg``."""
        if kid is None:
            fitting = [index for index, jwk in enumerate(self._keys) if _fits(jwk, alg)]
            if len(fitting) != 1:
                msg = f"the ID token names no key and {len(fitting)} published keys fit {alg}"
                raise ProviderRejected(msg)
            return self._build(fitting[0], alg)
        named = [index for index, jwk in enumerate(self._keys) if jwk.get("kid") == kid]
        for index in named:
            if _fits(self._keys[index], alg):
                return self._build(index, alg)
        if named:
            raise ProviderRejected(f"the key the ID token names is not a {alg} signing key")
        return None

    def _build(self, index: int, alg: str) -> jwt.PyJWK:
        built = self._built.get((index, alg))
        if built is None:
            try:
                built = jwt.PyJWK(dict(self._keys[index]), algorithm=alg)
            except jwt.PyJWTError as error:
                msg = f"the provider's {alg} key cannot be used: {type(error).__name__}"
                raise ProviderRejected(msg) from error
            self._built[(index, alg)] = built
        return built


class ProviderKeys:
    """The issuer's JWKS, cached; ``load()`` gives the set and its lifetime."""

    def __init__(
        self,
        load: Callable[[], Awaitable[tuple[KeySet, timedelta]]],
        clock: Clock,
        *,
        what: str,
        cooldown: timedelta = REFETCH_COOLDOWN,
    ) -> None:
        self._document = CachedDocument(load, clock, what=what)
        self._clock = clock
        self._cooldown = cooldown
        self._next_refetch = _NEVER

    async def key(self, kid: str | None, alg: str) -> jwt.PyJWK:
        """The key that verifies a token whose header names ``kid`` and ``alg``. Raises
        ``ProviderRejected`` when the provider publishes no such key (after one refetch, at
        most once per cooldown), ``ProviderUnavailable`` when there is no JWKS at all."""
        key = (await self._document.get()).select(kid, alg)
        if key is None:
            now = self._clock.now()
            if now >= self._next_refetch:
                self._next_refetch = now + self._cooldown
                key = (await self._document.refetch()).select(kid, alg)
        if key is None:
            raise ProviderRejected("the ID token is signed by a key the provider does not publish")
        return key
