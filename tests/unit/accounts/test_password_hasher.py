"""The bcrypt adapter (real bcrypt at the minimum cost; no infrastructure)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gatehouse.modules.accounts.adapters.common_passwords import load_common_passwords
from gatehouse.modules.accounts.adapters.password_hasher import BcryptPasswordHasher, HashingBusy
from gatehouse.modules.accounts.domain.model import PasswordHash

PEPPER = {1: b"p" * 32}


@pytest.fixture
def hasher() -> BcryptPasswordHasher:
    return BcryptPasswordHasher(PEPPER, rounds=4, concurrency=2, queue_limit=4)


async def test_hash_verifies_the_same_password_only(hasher: BcryptPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery staple")
    assert hashed.value.startswith("gh1$1$$2b$04$")
    assert await hasher.verify("correct horse battery staple", hashed)
    assert not await hasher.verify("correct horse battery stapl", hashed)
    assert not await hasher.verify(" correct horse battery staple", hashed)


async def test_passwords_longer_than_72_bytes_are_not_truncated(
    hasher: BcryptPasswordHasher,
) -> None:
    base = "é" * 40  # 80 bytes
    hashed = await hasher.hash(base + "a")
    assert await hasher.verify(base + "a", hashed)
    assert not await hasher.verify(base + "b", hashed)


async def test_the_pepper_is_needed_to_verify(hasher: BcryptPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery staple")
    other = BcryptPasswordHasher({1: b"q" * 32}, rounds=4, concurrency=1, queue_limit=1)
    assert not await other.verify("correct horse battery staple", hashed)


async def test_old_pepper_versions_verify_and_ask_for_a_rehash() -> None:
    old = BcryptPasswordHasher(PEPPER, rounds=4, concurrency=1, queue_limit=1)
    hashed = await old.hash("correct horse battery staple")
    rotated = BcryptPasswordHasher({**PEPPER, 2: b"r" * 32}, rounds=4, concurrency=1, queue_limit=1)
    assert await rotated.verify("correct horse battery staple", hashed)
    assert rotated.needs_rehash(hashed)
    assert not rotated.needs_rehash(await rotated.hash("x" * 10))


async def test_a_cost_change_asks_for_a_rehash(hasher: BcryptPasswordHasher) -> None:
    hashed = await hasher.hash("correct horse battery staple")
    stronger = BcryptPasswordHasher(PEPPER, rounds=5, concurrency=1, queue_limit=1)
    assert stronger.needs_rehash(hashed)
    assert not hasher.needs_rehash(hashed)


@pytest.mark.parametrize("stored", ["", "plain", "gh1$9$$2b$04$abc", "gh1$x$y", "$2b$04$abc"])
async def test_unknown_or_corrupt_hashes_never_verify(
    hasher: BcryptPasswordHasher, stored: str
) -> None:
    assert not await hasher.verify("anything at all", PasswordHash(stored))
    assert hasher.needs_rehash(PasswordHash(stored))


async def test_hashing_runs_off_the_event_loop(hasher: BcryptPasswordHasher) -> None:
    loop_thread = threading.get_ident()
    seen: list[int] = []
    original = hasher._run

    async def spy(fn):  # type: ignore[no-untyped-def]
        def wrapped():  # type: ignore[no-untyped-def]
            seen.append(threading.get_ident())
            return fn()

        return await original(wrapped)

    hasher._run = spy  # type: ignore[method-assign]
    await hasher.hash("correct horse battery staple")
    assert seen
    assert loop_thread not in seen


async def test_too_many_waiting_hashes_are_refused_with_back_pressure() -> None:
    hasher = BcryptPasswordHasher(PEPPER, rounds=4, concurrency=1, queue_limit=1)
    release = threading.Event()
    blocked = [
        asyncio.ensure_future(hasher._run(release.wait)),
        asyncio.ensure_future(hasher._run(release.wait)),
    ]
    await asyncio.sleep(0)  # let both futures enter _run (a scheduling yield, not a wait for time)
    with pytest.raises(HashingBusy):
        await hasher.hash("correct horse battery staple")
    release.set()
    await asyncio.gather(*blocked)
    assert await hasher.verify("x" * 10, await hasher.hash("x" * 10))


def test_the_bundled_common_password_list_has_at_least_100k_entries() -> None:
    common = load_common_passwords()
    assert len(common) >= 100_000
    assert "password" in common
    assert "123456" in common
