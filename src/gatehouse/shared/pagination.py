"""Keyset pagination over UUIDv7 ids, newest first: fetch one row more than asked to know
whether there is a next page, and continue from the last id shown."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_before: uuid.UUID | None  # the id to continue from, None on the last page


def page_of(rows: Sequence[T], limit: int, id_of: Callable[[T], uuid.UUID]) -> Page[T]:
    """``rows`` as fetched with ``limit + 1``."""
    items = list(rows[:limit])
    return Page(items, id_of(items[-1]) if len(rows) > limit else None)
