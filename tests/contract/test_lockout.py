"""One suite for the Lockout port, run against the fake and the real adapter.

The port's promise: ``admit`` counts an attempt against the account and the IP, or raises
``TooManyAttempts`` (counting nothing) while either is locked; after ``free`` attempts without a
success each further one is locked in for a doubling wait; ``succeeded`` starts both over;
``failed`` spends the account's hourly budget of failures, and an empty budget refuses. The
streaks run on the injected clock, so both sides are moved through their waits here.

The real side is ``RedisLockout`` on this worker's Redis with a fresh HMAC key per test (so its
subjects are its own); the hourly budget is ``limits``' moving window on Redis's clock, which a
test cannot move, so the budget's end is checked for a bound, not moved through.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from gatehouse.modules.auth.adapters.lockout import RedisLockout
from gatehouse.modules.auth.application.ports import Lockout, SignInAttempt
from gatehouse.modules.auth.domain.errors import TooManyAttempts
from gatehouse.modules.auth.domain.lockout import LockoutPolicy
from gatehouse.shared.redis_health import RedisHealth
from gatehouse.testing.infra import Infra
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryLockout

POLICY = LockoutPolicy(
    free=3, first_lock=timedelta(seconds=60), max_lock=timedelta(minutes=5), max_in_flight=6
)
PER_HOUR = 8
NO_RETRY = Retry(NoBackoff(), 0)


@pytest_asyncio.fixture(loop_scope="session")
async def redis_client(infra: Infra) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(infra.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(params=["in_memory", "redis"])
def lockout(request: pytest.FixtureRequest, clock: FixedClock) -> Lockout:
    if request.param == "in_memory":
        return InMemoryLockout(clock, policy=POLICY, failures_per_hour=PER_HOUR)
    client: redis.Redis = request.getfixturevalue("redis_client")
    key = secrets.token_bytes(32)
    return RedisLockout(
        client, RedisHealth(), key, clock, policy=POLICY, failures_per_hour=PER_HOUR
    )


def attempt(ip: str | None = "192.0.2.10") -> SignInAttempt:
    return SignInAttempt(f"{secrets.token_hex(6)}@example.com", ip)


async def wrong(lockout: Lockout, tried: SignInAttempt, times: int = 1) -> None:
    for _ in range(times):
        await lockout.admit(tried)
        await lockout.failed(tried)


async def locked_for(lockout: Lockout, tried: SignInAttempt) -> int:
    with pytest.raises(TooManyAttempts) as refused:
        await lockout.admit(tried)
    return refused.value.retry_after


async def test_the_free_attempts_pass_then_each_waits_twice_as_long(
    lockout: Lockout, clock: FixedClock
) -> None:
    tried = attempt()
    await wrong(lockout, tried, POLICY.free)
    waits = []
    for _ in range(5):
        wait = await locked_for(lockout, tried)
        waits.append(wait)
        clock.advance(timedelta(seconds=wait - 1))
        assert await locked_for(lockout, tried) == 1
        clock.advance(timedelta(seconds=1))
        await wrong(lockout, tried)
    assert waits == [60, 120, 240, 300, 300]


async def test_a_success_starts_the_account_and_the_ip_over(
    lockout: Lockout, clock: FixedClock
) -> None:
    tried = attempt()
    await wrong(lockout, tried, POLICY.free)
    clock.advance(timedelta(seconds=60))
    await lockout.admit(tried)
    await lockout.succeeded(tried)

    await wrong(lockout, tried, POLICY.free)  # all free again
    assert await locked_for(lockout, tried) == 60


async def test_the_account_and_the_ip_are_locked_each_on_its_own(lockout: Lockout) -> None:
    account_failing = attempt("192.0.2.20")
    await wrong(lockout, account_failing, POLICY.free)
    from_elsewhere = SignInAttempt(account_failing.account, "192.0.2.21")
    assert await locked_for(lockout, from_elsewhere) == 60  # the account's lock

    spraying = [attempt("192.0.2.30") for _ in range(POLICY.free)]
    for each in spraying:
        await wrong(lockout, each)
    assert await locked_for(lockout, attempt("192.0.2.30")) == 60  # the IP's lock
    await lockout.admit(attempt("192.0.2.31"))  # another IP, another account: free
    await lockout.admit(attempt(None))  # no IP known: the account alone counts


async def test_a_refused_attempt_counts_nothing(lockout: Lockout, clock: FixedClock) -> None:
    tried = attempt()
    await wrong(lockout, tried, POLICY.free)
    for _ in range(10):
        await locked_for(lockout, tried)
    clock.advance(timedelta(seconds=60))
    await wrong(lockout, tried)  # the next one in line, not the fifteenth
    assert await locked_for(lockout, tried) == 120


async def admit_at_once(lockout: Lockout, tried: SignInAttempt, count: int) -> list[object]:
    return await asyncio.gather(
        *(lockout.admit(tried) for _ in range(count)), return_exceptions=True
    )


async def test_sign_ins_at_the_same_moment_all_go_through_up_to_the_in_flight_bound(
    lockout: Lockout,
) -> None:
    tried = attempt()
    outcomes = await admit_at_once(lockout, tried, POLICY.max_in_flight + 4)
    assert outcomes.count(None) == POLICY.max_in_flight  # more than `free`: no failure yet
    busy = [o for o in outcomes if o is not None]
    assert all(isinstance(o, TooManyAttempts) and o.retry_after == 1 for o in busy)
    for _ in range(POLICY.max_in_flight):
        await lockout.succeeded(tried)
    await lockout.admit(tried)  # all finished: free again


async def test_guesses_in_parallel_cannot_slip_past_the_lock(lockout: Lockout) -> None:
    tried = attempt()
    await wrong(lockout, tried, POLICY.free - 1)
    outcomes = await admit_at_once(lockout, tried, 5)
    assert outcomes.count(None) == 1  # the one that may be the locking failure, alone
    locked = [o for o in outcomes if o is not None]
    assert all(isinstance(o, TooManyAttempts) and o.retry_after == 60 for o in locked)


async def test_an_attempt_released_without_an_answer_counts_nothing(
    lockout: Lockout,
) -> None:
    tried = attempt()
    for _ in range(POLICY.free * 3):
        await lockout.admit(tried)
        await lockout.released(tried)  # an outage while checking: neither right nor wrong
    await wrong(lockout, tried, POLICY.free - 1)
    await lockout.admit(tried)


async def test_attempts_whose_process_died_stop_counting_as_in_flight(
    lockout: Lockout, clock: FixedClock
) -> None:
    tried = attempt()
    await admit_at_once(lockout, tried, POLICY.max_in_flight)  # never finished
    assert await locked_for(lockout, tried) == 1
    clock.advance(POLICY.in_flight_ttl)
    await lockout.admit(tried)


async def test_the_hourly_budget_of_failures_holds_even_across_successes(
    lockout: Lockout,
) -> None:
    tried = attempt()
    for _ in range(PER_HOUR // (POLICY.free - 1)):
        await lockout.admit(tried)
        await lockout.succeeded(tried)  # the owner signs in between: streak gone, budget not
        await wrong(lockout, tried, POLICY.free - 1)

    wait = await locked_for(lockout, tried)
    assert 3500 <= wait <= 3600


async def test_a_streak_left_alone_for_a_day_is_forgotten(
    lockout: Lockout, clock: FixedClock
) -> None:
    tried = attempt()
    await wrong(lockout, tried, POLICY.free)
    clock.advance(POLICY.forget_after)
    await wrong(lockout, tried, POLICY.free)  # counted from nothing again
    assert await locked_for(lockout, tried) == 60


# ---------------------------------------------------------------- the real one, Redis down


async def test_with_redis_down_the_lockout_holds_in_this_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=NO_RETRY)
    clock = FixedClock()
    lockout = RedisLockout(
        down, RedisHealth(), b"k" * 32, clock, policy=POLICY, failures_per_hour=PER_HOUR
    )
    tried = attempt()
    with caplog.at_level(logging.WARNING, logger="gatehouse.redis"):
        await wrong(lockout, tried, POLICY.free)
        assert await locked_for(lockout, tried) == 60  # never fails open
    # The first Redis user of a sign-in to fail (the hourly budget) reports it for all of them.
    assert "kept in this process only: Redis did not answer" in caplog.text
    clock.advance(timedelta(seconds=60))
    await lockout.admit(tried)
    await lockout.succeeded(tried)
    await wrong(lockout, tried, POLICY.free)
    await down.aclose()
