"""The query parameters of every list (``{items, next_cursor}``): ``limit`` and ``cursor``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from gatehouse.shared.errors import InvalidInput


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    title = "The cursor is not one this list returned"


def _before(cursor: Annotated[str | None, Query(max_length=64)] = None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        return uuid.UUID(hex=cursor)
    except ValueError:
        raise InvalidCursor from None


def next_cursor(before: uuid.UUID | None) -> str | None:
    """The opaque ``next_cursor`` for a page that continues before ``before``."""
    return before.hex if before is not None else None


Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Before = Annotated[uuid.UUID | None, Depends(_before)]
"""The id a page continues from, read from the opaque ``cursor`` a previous page returned."""
