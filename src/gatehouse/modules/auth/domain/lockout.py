"""Progressive lockout after failed sign-ins: the rule, free of any store.

Each subject (an account, a client IP) keeps a ``Streak``: the attempts begun since its last
success and the time it is locked until. The first ``free`` attempts go through at once; the
attempt that brings the streak to ``free`` or beyond locks the subject before it is checked,
for ``first_lock`` doubled per attempt past ``free``, at most ``max_lock``. So after five
failures the sixth attempt waits 60 s, the seventh 120 s, and so on up to 15 minutes. A success
wipes the streak, lock included; a failure leaves it as it is (the attempt was counted, and
the lock set, when it began). Because the lock is set when an attempt begins, concurrent
attempts cannot slip past it: while one locked-in attempt is being checked the others wait.

While a subject is locked every attempt is refused before any password or code is looked at,
so a right password gets the same answer as a wrong one. A streak nobody touched for
``forget_after`` starts again from nothing: no lock is ever permanent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Streak:
    attempts: int = 0  # begun since the last success, the ones in flight included
    locked_until: datetime | None = None
    last_attempt: datetime | None = None


@dataclass(frozen=True, slots=True)
class Admitted:
    streaks: tuple[Streak, ...]  # the subjects' streaks with this attempt counted


@dataclass(frozen=True, slots=True)
class Refused:
    retry_after: timedelta


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    free: int = 5
    first_lock: timedelta = timedelta(seconds=60)
    max_lock: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(days=1)

    def lock_for(self, attempts: int) -> timedelta:
        """How long the subject waits if the ``attempts``-th attempt since a success fails."""
        if attempts < self.free:
            return timedelta(0)
        doublings = min(attempts - self.free, 32)  # far past max_lock: no huge powers
        return min(self.first_lock * (1 << doublings), self.max_lock)

    def admit(self, streaks: Sequence[Streak], now: datetime) -> Admitted | Refused:
        """Count an attempt against every subject, or refuse it when any of them is locked
        (then nothing is counted, and the caller learns when the longest lock ends)."""
        current = [self._current(streak, now) for streak in streaks]
        locks = [s.locked_until - now for s in current if s.locked_until and s.locked_until > now]
        if locks:
            return Refused(max(locks))
        admitted = []
        for streak in current:
            attempts = streak.attempts + 1
            lock = self.lock_for(attempts)
            admitted.append(Streak(attempts, now + lock if lock else None, now))
        return Admitted(tuple(admitted))

    def _current(self, streak: Streak, now: datetime) -> Streak:
        if streak.last_attempt is None or now - streak.last_attempt >= self.forget_after:
            return Streak()
        return streak
