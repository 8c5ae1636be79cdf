"""After Redis fails to answer, the limiters leave it alone for a pause, then ask again."""

from __future__ import annotations

import logging

import pytest

from gatehouse.modules.auth.adapters import rate_limits
from gatehouse.modules.auth.adapters.rate_limits import RedisOutage


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_skips_redis_for_the_pause_then_asks_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Monotonic()
    outage = RedisOutage("rate limits", pause=5.0, monotonic=clock)
    seen = [outage.ongoing]
    with caplog.at_level(logging.WARNING, logger="gatehouse.auth"):
        outage.began()
    seen.append(outage.ongoing)
    clock.now += 4.9
    seen.append(outage.ongoing)
    clock.now += 0.1
    seen.append(outage.ongoing)

    assert seen == [False, True, True, False]
    assert caplog.messages == ["rate limits kept in this process only: Redis did not answer"]


def test_the_default_pause_is_five_seconds() -> None:
    clock = Monotonic()
    outage = RedisOutage("lockout", monotonic=clock)
    outage.began()
    clock.now += rate_limits.OUTAGE_PAUSE_SECONDS - 0.01
    seen = [outage.ongoing]
    clock.now += 0.01
    seen.append(outage.ongoing)
    assert seen == [True, False]
