"""dependency-injector's ``Provide`` marker, made awaitable for FastAPI.

FastAPI calls a route's dependency before ``@inject`` swaps the marker for the provided object.
The stock marker is a plain callable, so FastAPI runs it in the thread pool: a thread hop per
injected argument per request, which measurably cut ``/me`` throughput and gave it a long tail
(see bench/README.md). An ``async`` ``__call__`` is awaited inline instead; the value is the
same marker, so the wiring works unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dependency_injector import wiring

if TYPE_CHECKING:  # the library types its markers as instances of one Protocol
    Provide = wiring.Provide
else:

    class Provide(wiring.Provide):
        async def __call__(self) -> Provide:
            return self
