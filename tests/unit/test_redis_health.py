"""The process's one Redis health state: after a failure every user skips Redis for a pause,
then one caller probes while the others keep to their fallbacks; and the server's run_id."""

from __future__ import annotations

import logging

import pytest

from gatehouse.shared import redis_health
from gatehouse.shared.redis_health import RedisHealth, parse_run_id


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_pauses_every_user_then_one_caller_probes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Monotonic()
    health = RedisHealth(pause=5.0, monotonic=clock)
    seen = [health.usable(), health.usable()]  # no outage: everyone asks Redis
    with caplog.at_level(logging.WARNING, logger="gatehouse.redis"):
        health.failed("rate limits", "kept in this process only")
        seen += [health.usable(), health.usable()]  # every user, not only the rate limits
        clock.now += 4.9
        seen.append(health.usable())
        clock.now += 0.1
        seen += [health.usable(), health.usable()]  # the probe, then the others wait for it
        health.failed("lockout", "kept in this process only")  # the probe failed: again
        seen.append(health.usable())
        clock.now += 5.0
        seen.append(health.usable())  # the next probe ...
        health.answered()  # ... answered
        seen += [health.usable(), health.usable()]

    assert seen == [True, True, False, False, False, True, False, False, True, True, True]
    assert caplog.messages == [
        "rate limits kept in this process only: Redis did not answer",
        "lockout kept in this process only: Redis did not answer",
        "Redis answers again",
    ]


def test_failures_of_one_outage_are_logged_once_per_pause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Monotonic()
    health = RedisHealth(pause=5.0, monotonic=clock)
    with caplog.at_level(logging.WARNING, logger="gatehouse.redis"):
        # Requests that were already waiting on Redis when it froze all fail together.
        for what in ("rate limits", "session checks", "lockout"):
            health.failed(what, "fallback")
    assert caplog.messages == ["rate limits fallback: Redis did not answer"]


def test_the_default_pause_is_five_seconds() -> None:
    clock = Monotonic()
    health = RedisHealth(monotonic=clock)
    health.failed("lockout", "kept in this process only")
    clock.now += redis_health.OUTAGE_PAUSE_SECONDS - 0.01
    seen = [health.usable()]
    clock.now += 0.01
    seen.append(health.usable())
    assert seen == [False, True]


@pytest.mark.parametrize(
    ("reply", "run_id"),
    [
        (b"# Server\r\nredis_version:7.0.15\r\nrun_id:4f1c0a9e\r\ntcp_port:0\r\n", b"4f1c0a9e"),
        ("# Server\nrun_id:abc123\n", b"abc123"),
        (b"# Server\r\nredis_version:7.0.15\r\n", None),
        (None, None),
    ],
)
def test_the_run_id_is_read_from_info_server(reply: object, run_id: bytes | None) -> None:
    assert parse_run_id(reply) == run_id
