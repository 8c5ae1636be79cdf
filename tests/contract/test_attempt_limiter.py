"""One suite for the AttemptLimiter port, run against the fake and the real adapter.

The port's promise: ``limit`` failures of a key within its window block it, ``check`` then raises
``TooManyAttempts`` with the seconds left until the window ends; a success clears the key; keys
do not share counts. The window starts at a key's first failure.

Not in the contract: the window's end. The real one's is a Redis TTL, which runs on the Redis
server's clock: nothing short of waiting makes it pass, and these tests do not sleep. What the
contract does pin is that ``retry_after`` is the window counted from the first failure. The
fake's window ends on its clock; the tests at the end of this file show that, on the fake only.

The real side uses this worker's Redis database, with keys of its own (a random tag) that it
deletes afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
import pytest_asyncio
import redis.asyncio as redis

from gatehouse.modules.auth.adapters.attempts import PREFIX, LimitsAttemptLimiter
from gatehouse.modules.auth.application.ports import AttemptLimiter
from gatehouse.modules.auth.domain.errors import TooManyAttempts
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryAttemptLimiter
from tests.support.infra import Infra

LIMIT = 3
WINDOW_SECONDS = 900
SLACK_SECONDS = 5  # the real window runs on the Redis server's clock while the test runs

Keys = Callable[[], str]


@pytest_asyncio.fixture(loop_scope="session")
async def redis_client(infra: Infra) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def tag() -> str:
    return f"contract:{secrets.token_hex(8)}"


@pytest.fixture
def new_key(tag: str) -> Keys:
    """A fresh key each call, under this test's tag."""
    return lambda: f"{tag}:{secrets.token_hex(4)}"


@pytest_asyncio.fixture(loop_scope="session")
async def redis_limiter(redis_client: redis.Redis, tag: str) -> AsyncIterator[AttemptLimiter]:
    yield LimitsAttemptLimiter(redis_client, limit=LIMIT, window_seconds=WINDOW_SECONDS)
    async for key in redis_client.scan_iter(match=f"{PREFIX}:*{tag}:*"):
        await redis_client.delete(key)


@pytest.fixture(params=["in_memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> AttemptLimiter:
    if request.param == "in_memory":
        return InMemoryAttemptLimiter(FixedClock(), limit=LIMIT, window_seconds=WINDOW_SECONDS)
    real: AttemptLimiter = request.getfixturevalue("redis_limiter")
    return real


async def fail(limiter: AttemptLimiter, key: str, times: int) -> None:
    for _ in range(times):
        await limiter.failed(key)


async def test_a_key_without_failures_passes(limiter: AttemptLimiter, new_key: Keys) -> None:
    await limiter.check(new_key())


async def test_a_key_under_the_limit_passes(limiter: AttemptLimiter, new_key: Keys) -> None:
    key = new_key()
    await fail(limiter, key, LIMIT - 1)

    await limiter.check(key)
    await limiter.check(key)  # checking counts nothing


async def test_checks_alone_never_block(limiter: AttemptLimiter, new_key: Keys) -> None:
    key = new_key()
    for _ in range(LIMIT * 2):
        await limiter.check(key)


async def test_limit_failures_block_with_the_window_left_as_retry_after(
    limiter: AttemptLimiter, new_key: Keys
) -> None:
    key = new_key()
    await fail(limiter, key, LIMIT)

    with pytest.raises(TooManyAttempts) as blocked:
        await limiter.check(key)

    assert blocked.value.retry_after >= 1
    assert WINDOW_SECONDS - SLACK_SECONDS <= blocked.value.retry_after <= WINDOW_SECONDS


async def test_a_blocked_key_stays_blocked_and_its_window_does_not_grow(
    limiter: AttemptLimiter, new_key: Keys
) -> None:
    key = new_key()
    await fail(limiter, key, LIMIT + 2)

    for _ in range(2):
        with pytest.raises(TooManyAttempts) as blocked:
            await limiter.check(key)
        assert 1 <= blocked.value.retry_after <= WINDOW_SECONDS


async def test_a_success_clears_the_failures(limiter: AttemptLimiter, new_key: Keys) -> None:
    key = new_key()
    await fail(limiter, key, LIMIT)

    await limiter.succeeded(key)

    await limiter.check(key)
    await fail(limiter, key, LIMIT - 1)  # counting starts again from zero
    await limiter.check(key)
    await limiter.failed(key)
    with pytest.raises(TooManyAttempts):
        await limiter.check(key)


async def test_a_success_for_a_key_without_failures_is_harmless(
    limiter: AttemptLimiter, new_key: Keys
) -> None:
    key = new_key()
    await limiter.succeeded(key)

    await limiter.check(key)


async def test_keys_count_their_own_failures(limiter: AttemptLimiter, new_key: Keys) -> None:
    blocked, nearly, untouched = new_key(), new_key(), new_key()
    await fail(limiter, blocked, LIMIT)
    await fail(limiter, nearly, LIMIT - 1)

    with pytest.raises(TooManyAttempts):
        await limiter.check(blocked)
    await limiter.check(nearly)
    await limiter.check(untouched)

    await limiter.succeeded(nearly)  # clears only its own key
    with pytest.raises(TooManyAttempts):
        await limiter.check(blocked)


# ---------------------------------------------------------------- the fake's window, on its clock
# Redis ends the real window by a TTL on the server's clock, which a test cannot move; on the
# fake, the tests below show the same rule: the window starts at the first failure, later
# failures do not extend it, and the key is free once it has passed.


async def test_the_fake_frees_a_key_when_the_window_from_its_first_failure_ends() -> None:
    clock = FixedClock()
    limiter = InMemoryAttemptLimiter(clock, limit=LIMIT, window_seconds=WINDOW_SECONDS)
    await limiter.failed("k")
    clock.advance(timedelta(seconds=600))
    await fail(limiter, "k", LIMIT - 1)  # later failures do not extend the window

    with pytest.raises(TooManyAttempts) as blocked:
        await limiter.check("k")
    assert blocked.value.retry_after == WINDOW_SECONDS - 600

    clock.advance(timedelta(seconds=WINDOW_SECONDS - 600 - 1))
    with pytest.raises(TooManyAttempts) as last_second:
        await limiter.check("k")
    assert last_second.value.retry_after == 1

    clock.advance(timedelta(seconds=1))
    await limiter.check("k")
    assert limiter.failures("k") == 0


async def test_the_fake_starts_a_new_window_with_the_first_failure_after_one_ends() -> None:
    clock = FixedClock()
    limiter = InMemoryAttemptLimiter(clock, limit=LIMIT, window_seconds=WINDOW_SECONDS)
    await fail(limiter, "k", LIMIT - 1)
    clock.advance(timedelta(seconds=WINDOW_SECONDS))

    await limiter.failed("k")  # one failure of a new window, not the limit-th of the old one

    assert limiter.failures("k") == 1
    await limiter.check("k")
