"""One suite for the MailCaps port, run against the fake and the real adapter.

The port's promise: each address has a budget of mails; ``allow`` counts one and answers
``False`` once the budget is spent, and stays ``False``; addresses do not share budgets.

The budgets are set differently: the fake's is a constructor count (``FakeMailCaps(allowed=n)``),
the real one's is two caps, per minute and per hour (1 and 5 in production). So each side gives
the tests a ``Caps`` factory: ``caps(n)`` is a MailCaps that allows ``n`` mails to an address,
then refuses. The real one is built twice, once with the minute's cap at ``n`` and once with
the hour's, so that both caps are held to it.

Not in the contract: the windows ending. The real windows are fixed minutes and hours of its
clock (a fixed one here, so a test never straddles a minute); the fake has none. The tests at
the end show the real one's windows, on its clock.

The real side uses this worker's Redis database, under a key prefix of its own that it deletes
afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
import pytest_asyncio
import redis.asyncio as redis

from gatehouse.modules.notifications.adapters import mail_caps
from gatehouse.modules.notifications.adapters.mail_caps import RedisMailCaps
from gatehouse.modules.notifications.application.public import MailCaps, MailPurpose
from gatehouse.shared.redis_health import RedisHealth
from gatehouse.testing.infra import Infra
from tests.support.builders import T0, unique_email
from tests.support.clock import FixedClock
from tests.support.fakes import FakeMailCaps

PER_HOUR = 5  # the real cap the per-minute variant keeps
UNLIMITED = 1_000

Caps = Callable[[int], MailCaps]


@pytest_asyncio.fixture(loop_scope="session")
async def redis_client(infra: Infra, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[redis.Redis]:
    """This worker's Redis, with the caps' keys under a prefix of this test's own."""
    prefix = f"test:{secrets.token_hex(8)}:mail-cap:"
    monkeypatch.setattr(mail_caps, "PREFIX", prefix)
    client = redis.Redis.from_url(infra.redis_url)
    try:
        yield client
    finally:
        async for key in client.scan_iter(match=f"{prefix}*"):
            await client.delete(key)
        await client.aclose()


@pytest.fixture(params=["fake", "redis-per-minute", "redis-per-hour"])
def caps(request: pytest.FixtureRequest) -> Caps:
    if request.param == "fake":
        return lambda n: FakeMailCaps(allowed=n)
    client: redis.Redis = request.getfixturevalue("redis_client")
    clock = FixedClock(T0)
    if request.param == "redis-per-minute":

        def per_minute(n: int) -> MailCaps:
            assert n <= PER_HOUR, "the hour's cap would be reached first"
            return RedisMailCaps(client, RedisHealth(), clock, per_minute=n, per_hour=PER_HOUR)

        return per_minute
    return lambda n: RedisMailCaps(client, RedisHealth(), clock, per_minute=UNLIMITED, per_hour=n)


def an_address() -> str:
    return unique_email("caps").value


RESET = MailPurpose.PASSWORD_RESET


async def answers(
    caps: MailCaps, address: str, times: int, purpose: MailPurpose = RESET
) -> list[bool]:
    return [await caps.allow(address, purpose) for _ in range(times)]


async def test_the_first_mail_to_an_address_is_allowed(caps: Caps) -> None:
    assert await caps(1).allow(an_address(), RESET) is True


@pytest.mark.parametrize("n", [1, 3, 5])
async def test_n_mails_to_an_address_are_allowed_and_the_next_ones_refused(
    caps: Caps, n: int
) -> None:
    address = an_address()

    assert await answers(caps(n), address, n + 3) == [True] * n + [False] * 3


async def test_addresses_have_budgets_of_their_own(caps: Caps) -> None:
    limited = caps(2)
    spent, fresh, other = an_address(), an_address(), an_address()
    assert await answers(limited, spent, 3) == [True, True, False]

    assert await limited.allow(fresh, RESET) is True
    assert await limited.allow(spent, RESET) is False
    assert await answers(limited, other, 3) == [True, True, False]
    assert await limited.allow(fresh, RESET) is True


async def test_each_purpose_has_a_budget_of_its_own(caps: Caps) -> None:
    limited = caps(1)
    address = an_address()
    assert await answers(limited, address, 2, MailPurpose.PASSWORD_RESET) == [True, False]
    # A reset link does not use up the budget of a sign-in code, nor of the others.
    for purpose in (MailPurpose.EMAIL_CODE, MailPurpose.VERIFICATION, MailPurpose.EMAIL_CHANGE):
        assert await answers(limited, address, 2, purpose) == [True, False]


# ---------------------------------------------------------------- the real windows, on its clock
# The fake has no windows; the real budget is 1 a minute and 5 an hour by default, in fixed
# windows of its clock. Shown here on the real one only.


async def test_the_real_caps_allow_one_a_minute_and_five_an_hour(
    redis_client: redis.Redis,
) -> None:
    clock = FixedClock(T0)
    caps = RedisMailCaps(redis_client, RedisHealth(), clock)
    address = an_address()

    allowed = []
    for _ in range(6):
        allowed.append(await answers(caps, address, 2))
        clock.advance(timedelta(minutes=1))

    assert allowed == [[True, False]] * 5 + [[False, False]]
    clock.advance(timedelta(hours=1))
    assert await caps.allow(address, RESET) is True


async def test_refusals_in_a_minute_do_not_use_up_the_hour(redis_client: redis.Redis) -> None:
    clock = FixedClock(T0)
    caps = RedisMailCaps(redis_client, RedisHealth(), clock, per_minute=1, per_hour=2)
    address = an_address()
    assert await answers(caps, address, 5) == [True, False, False, False, False]

    clock.advance(timedelta(minutes=1))
    assert await answers(caps, address, 2) == [True, False]
    clock.advance(timedelta(minutes=1))
    assert await caps.allow(address, RESET) is False  # the hour's two are spent
