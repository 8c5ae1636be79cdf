"""Progressive lockout after failed sign-ins: the rule, free of any store.

Each subject (an account, a client IP) keeps a ``Streak``: its failures since the last success,
the attempts being checked right now, and the time it is locked until.

- After ``free`` failures the subject waits ``first_lock`` before its next attempt; each further
  failure doubles the wait, up to ``max_lock``. So after five failures the sixth attempt waits
  60 s, after six the seventh waits 120 s, and so on up to 15 minutes.
- While a subject is locked every attempt is refused before any password or code is looked at,
  so a right password gets the same answer as a wrong one.
- A success wipes the failures and the lock.
- Concurrency: the attempt that could be the ``free``-th failure, and each one after a wait,
  locks the subject as it begins (for the wait its failure would bring), so guesses sent in
  parallel cannot slip past the lock; other attempts are checked side by side, at most
  ``max_in_flight`` at once, so many sign-ins of one account or from one address at the same
  moment all go through while a burst of guesses stays bounded.
- A streak nobody touched for ``forget_after`` starts again from nothing: no lock is permanent.
  An attempt still counted in flight after ``in_flight_ttl`` (its process died) is forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Streak:
    failures: int = 0  # since the last success
    in_flight: int = 0  # attempts admitted and not yet finished
    locked_until: datetime | None = None
    last_attempt: datetime | None = None

    def locked_at(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now


@dataclass(frozen=True, slots=True)
class Admitted:
    streaks: tuple[Streak, ...]  # the subjects' streaks with this attempt in flight


@dataclass(frozen=True, slots=True)
class Refused:
    retry_after: timedelta


BUSY = timedelta(seconds=1)  # the wait for an attempt refused only for being one too many at once


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    free: int = 5
    first_lock: timedelta = timedelta(seconds=60)
    max_lock: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(days=1)
    max_in_flight: int = 20
    in_flight_ttl: timedelta = timedelta(seconds=60)

    def wait_after(self, failures: int) -> timedelta:
        """How long the subject waits after its ``failures``-th failure since a success."""
        if failures < self.free:
            return timedelta(0)
        doublings = min(failures - self.free, 32)  # far past max_lock: no huge numbers
        return min(self.first_lock * (1 << doublings), self.max_lock)

    def admit(self, streaks: Sequence[Streak], now: datetime) -> Admitted | Refused:
        """Put an attempt in flight for every subject, or refuse it (then nothing is counted)
        when any of them is locked or busy; the caller learns the longest wait."""
        current = [self._current(streak, now) for streak in streaks]
        waits = [self._refusal(streak, now) for streak in current]
        if any(wait is not None for wait in waits):
            return Refused(max(wait for wait in waits if wait is not None))
        return Admitted(tuple(self._begin(streak, now) for streak in current))

    def failed(self, streak: Streak, now: datetime) -> Streak:
        failures = streak.failures + 1
        locked_until = streak.locked_until
        if failures >= self.free:
            until = now + self.wait_after(failures)
            locked_until = until if locked_until is None else max(locked_until, until)
        return replace(
            streak,
            failures=failures,
            in_flight=max(0, streak.in_flight - 1),
            locked_until=locked_until,
        )

    def succeeded(self, streak: Streak) -> Streak:
        return Streak(in_flight=max(0, streak.in_flight - 1), last_attempt=streak.last_attempt)

    def released(self, streak: Streak) -> Streak:
        """The attempt ended without telling right from wrong (an outage): only its place."""
        return replace(streak, in_flight=max(0, streak.in_flight - 1))

    def _current(self, streak: Streak, now: datetime) -> Streak:
        if streak.last_attempt is None or now - streak.last_attempt >= self.forget_after:
            return Streak()
        if now - streak.last_attempt >= self.in_flight_ttl:
            return replace(streak, in_flight=0)
        return streak

    def _refusal(self, streak: Streak, now: datetime) -> timedelta | None:
        if streak.locked_until is not None and streak.locked_until > now:
            return streak.locked_until - now
        if streak.in_flight >= self.max_in_flight:
            return BUSY
        if streak.failures >= self.free and streak.in_flight > 0:
            return BUSY  # its lock ran out while the attempt after it is still being checked
        return None

    def _begin(self, streak: Streak, now: datetime) -> Streak:
        locked_until = streak.locked_until
        if streak.failures + 1 >= self.free:  # this one may be the failure that locks
            locked_until = now + self.wait_after(streak.failures + 1)
        return replace(
            streak, in_flight=streak.in_flight + 1, locked_until=locked_until, last_attempt=now
        )
