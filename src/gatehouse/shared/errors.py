"""Error categories. Every module error subclasses one and carries a stable ``code``.

The delivery layer maps a category to an HTTP status once (``gatehouse.main.http.errors``);
nothing below the entrypoints knows about HTTP.
"""

from __future__ import annotations

from typing import ClassVar


class GatehouseError(Exception):
    """Base of every expected error. ``code`` is stable and snake_case; ``title`` is generic."""

    code: ClassVar[str] = "error"
    title: ClassVar[str] = "Error"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.title
        super().__init__(self.detail)


class BadRequest(GatehouseError):
    """The request cannot be honoured as sent (e.g. a one-time token that is not valid)."""

    code = "bad_request"
    title = "Bad request"


class InvalidInput(GatehouseError):
    """``field``: the command field at fault, when one is (rendered as a validation error on the
    body field of that name, beside the stable code)."""

    code = "invalid_input"
    title = "The request is not valid"

    def __init__(self, detail: str | None = None, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(detail)


class NotFound(GatehouseError):
    code = "not_found"
    title = "Not found"


class Conflict(GatehouseError):
    code = "conflict"
    title = "Conflict"


class Unauthenticated(GatehouseError):
    code = "unauthenticated"
    title = "Authentication required"


class Forbidden(GatehouseError):
    code = "forbidden"
    title = "Forbidden"


class TooManyRequests(GatehouseError):
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(detail)


class Unavailable(GatehouseError):
    code = "service_unavailable"
    title = "Service unavailable"
