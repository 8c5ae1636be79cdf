"""dependency-injector's wiring for FastAPI routes, with the injected arguments kept out of
FastAPI's sight.

Routes and shared dependencies take what the container provides as plain marker defaults::

    @router.post("/register")
    @inject
    async def register(
        body: RegisterIn,
        handler: RegisterUserHandler = Provide["accounts.register_user"],
    ) -> UserOut: ...

``inject`` is the library's ``@inject`` (the container's ``wire()`` resolves the markers as
usual) with one difference: the signature FastAPI reads leaves out every parameter whose
default is a marker (or ``Depends(marker)``, the library's documented FastAPI form). FastAPI
therefore neither calls the marker as a dependency nor lists it in OpenAPI, and the wrapper
fills the argument in. A dependency FastAPI resolves costs about 12 µs a request (its cache
key, its scope, the call): with three or four injected arguments a route paid more for them
than for its own work (ADR 0011's amendment).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from dependency_injector import wiring

Provide = wiring.Provide

F = TypeVar("F", bound=Callable[..., Any])


def _is_marker(default: object) -> bool:
    marker = getattr(default, "dependency", default)  # Depends(Provide[...]) too
    return getattr(marker, "__IS_MARKER__", False) is True


def inject(function: F) -> F:
    """``dependency_injector.wiring.inject``, with the marker parameters hidden from FastAPI."""
    patched = wiring.inject(function)
    signature = inspect.signature(function)
    patched.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p for p in signature.parameters.values() if not _is_marker(p.default)]
    )
    return patched
