"""What this process knows of its Redis, shared by every adapter that uses it (ADR 0026, 0013).

``RedisHealth``: whether Redis answers. The first adapter that waits out a timeout or meets a
broken connection reports it (``failed``); for a pause after that, every adapter takes its own
fallback at once without asking Redis (rate limits and the lockout in this process's memory,
session checks from PostgreSQL, social sign-in 503, mail caps unchecked). When the pause is over
one caller asks Redis again (the probe) while the others keep to their fallbacks, until it
answers (``answered``) or fails (another pause). So a Redis that is down or frozen costs this
process one timeout per pause, not one per adapter, nor one per request.

``RedisServer``: which Redis server this process's connections reach. Every new connection
asks its server for its ``run_id`` (``INFO server``: a random id each server draws when it
starts, so it differs from one server to the next and changes at every restart). A failover, a
restart or a restore breaks every connection, so after one the process knows the new server's
id before its first command runs there. The session denylist's marker holds the id of the
server that built it, and is trusted only on that server (``RedisSessionRevocations``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import ResponseError

log = logging.getLogger("gatehouse.redis")

OUTAGE_PAUSE_SECONDS = 5.0

_RUN_ID = re.compile(rb"^run_id:([0-9a-f]+)\r?$", re.MULTILINE)


class RedisHealth:
    """Whether to ask Redis now: not for ``pause`` seconds after it last failed to answer,
    then once (one caller probes) until it answers again. One per process."""

    def __init__(
        self, pause: float | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._pause = OUTAGE_PAUSE_SECONDS if pause is None else pause
        self._monotonic = monotonic
        self._down = False
        self._until = 0.0  # no caller asks Redis before this, while it is down
        self._next_warning = 0.0

    def usable(self) -> bool:
        """Ask Redis? True when it answers, and for one caller (the probe) after each pause."""
        if not self._down:
            return True
        now = self._monotonic()
        if now < self._until:
            return False
        self._until = now + self._pause  # this caller probes; the others wait for it
        return True

    def answered(self) -> None:
        if self._down:
            self._down = False
            self._next_warning = 0.0
            log.warning("Redis answers again")

    def failed(self, what: str, fallback: str) -> None:
        """Redis did not answer ``what``, which turns to ``fallback``; every other user of Redis
        turns to its own for the pause. Logged once per pause."""
        now = self._monotonic()
        if now >= self._next_warning:
            log.warning("%s %s: Redis did not answer", what, fallback)
            self._next_warning = now + self._pause
        self._down = True
        self._until = now + self._pause


def parse_run_id(info: object) -> bytes | None:
    """The ``run_id`` in the raw reply to ``INFO server``."""
    raw = info.encode() if isinstance(info, str) else info
    found = _RUN_ID.search(raw) if isinstance(raw, bytes) else None
    return found.group(1) if found else None


class RedisServer:
    """The ``run_id`` of the Redis server this process last connected to (None before any
    connection, or where the server refuses ``INFO``: then the denylist is never trusted and
    PostgreSQL answers every session check)."""

    def __init__(self) -> None:
        self.run_id: bytes | None = None

    async def on_connect(self, connection: Any) -> None:
        """redis-py's ``redis_connect_func``: the usual handshake, then ``INFO server``."""
        await connection.on_connect()
        try:
            await connection.send_command("INFO", "server")
            run_id = parse_run_id(await connection.read_response())
        except ResponseError:  # INFO not allowed (an ACL, a renamed command)
            run_id = None
        if run_id is None:
            log.warning("Redis did not tell its run_id: session checks ask PostgreSQL")
        self.run_id = run_id
