"""Rate limits as a route dependency: ``dependencies=[rate_limited("login")]``.

Each limited answer carries ``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset``
and the IETF draft's ``RateLimit`` and ``RateLimit-Policy``; a request over the limit is a 429
``rate_limited`` problem with ``Retry-After`` and the same headers. The client is the address
the request-context middleware settled on (trusted proxies considered).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dependency_injector.wiring import inject
from fastapi import Depends, Request, Response

from gatehouse.shared.http.di import Provide
from gatehouse.shared.http.security import client_ip
from gatehouse.shared.rate_limits import RateLimit, RateLimiter, RateLimitState

STATE_KEY = "rate_limit"


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


@inject
async def _limiter(
    limiter: RateLimiter = Depends(Provide["rate_limiter"]),  # noqa: B008
) -> RateLimiter:
    return limiter


@inject
async def _limits(
    limits: Mapping[str, RateLimit] = Depends(Provide["rate_limits"]),
) -> Mapping[str, RateLimit]:
    return limits


def rate_limited(name: str) -> Any:
    """The dependency that counts a request against the policy ``name`` (a ``Depends``)."""

    async def count(
        request: Request,
        response: Response,
        limiter: RateLimiter = Depends(_limiter),  # noqa: B008
        limits: Mapping[str, RateLimit] = Depends(_limits),
    ) -> None:
        state = await limiter.hit(limits[name], client_ip(request) or "unknown")
        response.headers.update(rate_limit_headers(state))
        # An error raised later in the route gets a new response: it reads the state here.
        request.scope.setdefault("state", {})[STATE_KEY] = state

    return Depends(count)
