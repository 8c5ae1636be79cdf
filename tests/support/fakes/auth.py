"""Fakes for the auth module's ports (contracts: tests/contract/test_session_revocations.py and
tests/contract/test_attempt_limiter.py)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatehouse.modules.auth.application.ports import AttemptLimiter, SessionRevocations
from gatehouse.modules.auth.domain.errors import TooManyAttempts
from gatehouse.modules.auth.domain.model import Session
from gatehouse.shared.clock import Clock


def _no_sessions() -> Iterable[Session]:
    return ()


class InMemorySessionRevocations(SessionRevocations):
    """The denylist as a set, as ``RedisSessionRevocations`` behaves once its copy is built.

    ``revoked`` adds to it (``told`` keeps every id in the order it was told, for assertions);
    ``is_revoked`` answers from it alone, so a use case that forgets to tell is caught; ``sync``
    copies every session the store of record revoked within the last ``lookback`` (the real
    one's 60 seconds), at most once per ``interval_seconds`` like the real one's shared turn.

    ``sessions`` returns the store of record's committed sessions (PostgreSQL's ``auth_session``
    for the real one), read at each ``sync``; a fake unit of work's, or none.

    Not modelled: denylist entries expiring after the access-token lifetime, and the real one's
    cold start (no complete copy yet: it asks PostgreSQL, where an unknown session counts as
    revoked, and rebuilds the copy).
    """

    def __init__(
        self,
        clock: Clock,
        sessions: Callable[[], Iterable[Session]] = _no_sessions,
        *,
        lookback: timedelta = timedelta(seconds=60),
    ) -> None:
        self._clock = clock
        self._sessions = sessions
        self._lookback = lookback
        self._denylist: set[uuid.UUID] = set()
        self._next_sync: datetime | None = None
        self.told: list[uuid.UUID] = []

    async def is_revoked(self, session_id: uuid.UUID) -> bool:
        return session_id in self._denylist

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        self.told.extend(session_ids)
        self._denylist.update(session_ids)

    async def sync(self, interval_seconds: float) -> int:
        now = self._clock.now()
        if self._next_sync is not None and now < self._next_sync:
            return 0  # this interval's sync already ran
        self._next_sync = now + timedelta(seconds=interval_seconds)
        recent = [
            session.id
            for session in self._sessions()
            if session.revoked_at is not None and session.revoked_at > now - self._lookback
        ]
        self._denylist.update(recent)
        return len(recent)


@dataclass
class _Window:
    failures: int
    ends_at: datetime


class InMemoryAttemptLimiter(AttemptLimiter):
    """``limit`` failures per key within ``window_seconds``, on the given clock.

    As ``RedisAttemptLimiter``: the window starts at a key's first failure and later failures do
    not extend it; once a key has ``limit`` failures, ``check`` raises ``TooManyAttempts`` with
    the seconds left in its window; ``succeeded`` forgets the key; a window that has ended is
    forgotten (the Redis key's TTL).
    """

    def __init__(self, clock: Clock, *, limit: int = 5, window_seconds: int = 900) -> None:
        self._clock = clock
        self._limit = limit
        self._window = timedelta(seconds=window_seconds)
        self._windows: dict[str, _Window] = {}

    def _current(self, key: str) -> _Window | None:
        window = self._windows.get(key)
        if window is not None and self._clock.now() >= window.ends_at:
            del self._windows[key]
            return None
        return window

    async def check(self, key: str) -> None:
        window = self._current(key)
        if window is not None and window.failures >= self._limit:
            left = (window.ends_at - self._clock.now()).total_seconds()
            raise TooManyAttempts(math.ceil(left))

    async def failed(self, key: str) -> None:
        window = self._current(key)
        if window is None:
            self._windows[key] = _Window(1, self._clock.now() + self._window)
        else:
            window.failures += 1

    async def succeeded(self, key: str) -> None:
        self._windows.pop(key, None)

    def failures(self, key: str) -> int:
        """Failures counted for ``key`` in its current window."""
        window = self._current(key)
        return 0 if window is None else window.failures
