"""bcrypt over a keyed pre-hash, run off the event loop with bounded concurrency.

Stored form: ``gh1$<pepper version>$<bcrypt hash>``. The password is first reduced to
``base64(HMAC-SHA256(pepper, password))`` (44 ASCII bytes), so bcrypt's 72-byte limit never
truncates a long password and a stolen database alone cannot be cracked without the pepper.

Hashes imported from another system (``imported_hashes``) are checked as their scheme says and
always need a rehash, so the first successful sign-in moves them to the house scheme.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt

from gatehouse.modules.accounts.adapters import imported_hashes
from gatehouse.modules.accounts.application.ports import PasswordHasher
from gatehouse.modules.accounts.domain.model import PasswordHash
from gatehouse.shared.errors import Unavailable

SCHEME = "gh1"
T = TypeVar("T")


class HashingBusy(Unavailable):
    code = "hashing_busy"
    title = "The service is busy; try again shortly"


class BcryptPasswordHasher(PasswordHasher):
    def __init__(
        self,
        peppers: Mapping[int, bytes],
        *,
        rounds: int,
        concurrency: int,
        queue_limit: int,
    ) -> None:
        if not peppers:
            msg = "at least one password pepper is required"
            raise ValueError(msg)
        self._peppers = dict(peppers)
        self._current = max(self._peppers)
        self._rounds = rounds
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bcrypt")
        self._limit = concurrency + queue_limit
        self._in_flight = 0
        self._dummy: bytes | None = None

    def _prehash(self, password: str, version: int) -> bytes:
        digest = hmac.new(
            self._peppers[version], password.encode("utf-8", "surrogatepass"), hashlib.sha256
        ).digest()
        return base64.b64encode(digest)

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._in_flight >= self._limit:
            raise HashingBusy
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            self._in_flight -= 1

    async def hash(self, password: str) -> PasswordHash:
        version, rounds = self._current, self._rounds
        prehashed = self._prehash(password, version)
        digest = await self._run(lambda: bcrypt.hashpw(prehashed, bcrypt.gensalt(rounds)))
        return PasswordHash(f"{SCHEME}${version}${digest.decode('ascii')}")

    @staticmethod
    def _parse(hashed: PasswordHash) -> tuple[int, bytes] | None:
        scheme, _, rest = hashed.value.partition("$")
        version, _, digest = rest.partition("$")
        if scheme != SCHEME or not version.isdigit() or not digest:
            return None
        return int(version), digest.encode("ascii")

    async def verify(self, password: str, hashed: PasswordHash) -> bool:
        parsed = self._parse(hashed)
        if parsed is None and imported_hashes.problem(hashed.value) is None:
            return await self._run(lambda: imported_hashes.verify(password, hashed.value))
        if parsed is None or parsed[0] not in self._peppers:
            await self.verify_dummy(password)
            return False
        version, digest = parsed
        prehashed = self._prehash(password, version)
        return await self._run(lambda: bcrypt.checkpw(prehashed, digest))

    async def verify_dummy(self, password: str) -> None:
        if self._dummy is None:
            self._dummy = (await self.hash(secrets.token_urlsafe(16))).value.encode("ascii")
        dummy = self._parse(PasswordHash(self._dummy.decode("ascii")))
        assert dummy is not None
        prehashed = self._prehash(password, dummy[0])
        await self._run(lambda: bcrypt.checkpw(prehashed, dummy[1]))

    def needs_rehash(self, hashed: PasswordHash) -> bool:
        parsed = self._parse(hashed)
        if parsed is None or parsed[0] != self._current:
            return True
        cost = parsed[1].split(b"$")[2]
        return int(cost) != self._rounds

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
