"""Rate limits per client: the port every module's routes are limited through.

A ``RateLimit`` is a named policy (``login``: 20 per 60 s). The auth module implements
``RateLimiter`` (with the ``limits`` package, Redis shared by every process); any module's route
declares one with ``gatehouse.shared.http.rate_limits.rate_limited("login")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gatehouse.shared.errors import TooManyRequests


@dataclass(frozen=True, slots=True)
class RateLimit:
    name: str  # the policy, as headers and logs name it
    amount: int  # requests allowed ...
    seconds: int  # ... in any window of this many seconds


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """Where a client stands after a request: what is left, and when the window frees up."""

    limit: RateLimit
    remaining: int
    reset_after: int  # seconds until a request counts for less (at least 1 when exhausted)


class RateLimitExceeded(TooManyRequests):
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, state: RateLimitState) -> None:
        self.state = state
        limit = state.limit
        super().__init__(
            state.reset_after,
            f"at most {limit.amount} requests in {limit.seconds} s from one client; "
            f"retry in {max(1, state.reset_after)} s",
        )


class RateLimiter(Protocol):
    async def hit(self, limit: RateLimit, client: str) -> RateLimitState:
        """Count one request of ``client`` against ``limit``; raise ``RateLimitExceeded`` (and
        count nothing) when it is over."""
        ...
