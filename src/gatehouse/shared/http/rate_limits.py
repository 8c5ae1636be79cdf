"""Rate limits on routes, declared once per route and counted through one code path.

- A route whose requests all count against one policy: ``dependencies=[rate_limited("login")]``.
- A route that learns its policy from the request (``/auth/token``: the grant type) takes a
  ``limit: RateLimited`` parameter and calls ``await limit("login")`` once it knows.

Both count through ``RateLimitCheck``, which records where the client stands in the request's
scope; the request-context middleware writes the headers from that record (``counted_headers``)
onto whatever answer goes out: the route's own, a problem document, an HTML page, an OAuth
error. They are ``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` and the IETF
draft's ``RateLimit`` and ``RateLimit-Policy``. A request over the limit raises
``RateLimitExceeded`` (429 ``rate_limited`` with ``Retry-After``). The client is the address the
request-context middleware settled on (trusted proxies considered).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Request

from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.security import client_ip
from gatehouse.shared.rate_limits import (
    RateLimit,
    RateLimiter,
    RateLimitExceeded,
    RateLimitState,
)

STATE_KEY = "rate_limit"  # in the request scope's ``state``


def rate_limit_headers(state: RateLimitState) -> dict[str, str]:
    limit = state.limit
    reset = str(max(0, state.reset_after))
    return {
        "RateLimit-Limit": str(limit.amount),
        "RateLimit-Remaining": str(state.remaining),
        "RateLimit-Reset": reset,
        "RateLimit": f'"{limit.name}";r={state.remaining};t={reset}',
        "RateLimit-Policy": f'"{limit.name}";q={limit.amount};w={limit.seconds}',
    }


def counted_headers(state: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The raw headers for what a limited route recorded in the request scope's ``state``;
    none for a request no limit counted."""
    counted = state.get(STATE_KEY)
    if not isinstance(counted, RateLimitState):
        return []
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in rate_limit_headers(counted).items()
    ]


class RateLimitCheck:
    """Counts this request against a named policy, once the route knows which."""

    def __init__(
        self, request: Request, limiter: RateLimiter, limits: Mapping[str, RateLimit]
    ) -> None:
        self._request = request
        self._limiter = limiter
        self._limits = limits

    async def __call__(self, name: str) -> RateLimitState:
        """Where the client stands now; ``RateLimitExceeded`` when it is over the limit."""
        request = self._request
        recorded = request.scope.setdefault("state", {})
        try:
            state = await self._limiter.hit(self._limits[name], client_ip(request) or "unknown")
        except RateLimitExceeded as over:
            recorded[STATE_KEY] = over.state
            raise
        recorded[STATE_KEY] = state
        return state


@inject
async def _check(
    request: Request,
    limiter: RateLimiter = Provide["rate_limiter"],
    limits: Mapping[str, RateLimit] = Provide["rate_limits"],
) -> RateLimitCheck:
    return RateLimitCheck(request, limiter, limits)


RateLimited = Annotated[RateLimitCheck, Depends(_check)]
"""For a route that picks its policy from the request: ``await limit("login")``."""


def rate_limited(name: str) -> Any:
    """The dependency that counts each request of a route against the policy ``name``."""

    async def count(check: RateLimited) -> None:
        await check(name)

    return Depends(count)
