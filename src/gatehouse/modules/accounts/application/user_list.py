"""The administrator's user list (GET /admin/users): every user, or those whose email or
display name begins with ``q``, a page at a time.

The order is stable and served by indexes, so a page costs the same at any depth:
- without ``q``: by email (byte-wise; emails are unique);
- with ``q``: first the users whose email begins with ``q``, by email; then those whose
  display name begins with it (and whose email does not), by lower-cased name, then id.
A page continues after the last row shown (keyset), so rows added or removed meanwhile
neither repeat nor skip any other row.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Protocol

from gatehouse.modules.accounts.application.views import UserView
from gatehouse.modules.accounts.domain.model import Email


@dataclass(frozen=True, slots=True)
class UserListPosition:
    """A row's place in the list: which part it is in (the email matches, or the name-only
    matches of a search), its sort key there (the email, or the lower-cased display name),
    and its id."""

    by_name: bool
    key: str
    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class UserSearch:
    """``q`` as each part compares it: the email prefix normalised like an address; the
    name prefix NFC like a display name (lower-cased by the database, as its index is)."""

    email_prefix: str
    name_prefix: str

    @classmethod
    def of(cls, q: str | None) -> UserSearch | None:
        if q is None or not q.strip():
            return None
        return cls(Email.normalise(q), unicodedata.normalize("NFC", q.strip()))


class UserListViews(Protocol):
    async def list_users(
        self, search: UserSearch | None, after: UserListPosition | None, limit: int
    ) -> list[tuple[UserView, UserListPosition]]:
        """At most ``limit`` rows in list order, after ``after`` (from the start if None)."""
        ...


@dataclass(frozen=True, slots=True)
class ListUsers:
    q: str | None = None
    limit: int = 20
    after: UserListPosition | None = None


@dataclass(frozen=True, slots=True)
class UserListPage:
    items: list[UserView]
    next_after: UserListPosition | None  # where the next page starts; None on the last one


class ListUsersHandler:
    def __init__(self, views: UserListViews) -> None:
        self._views = views

    async def __call__(self, query: ListUsers) -> UserListPage:
        # One row more than asked tells whether there is a next page.
        rows = await self._views.list_users(UserSearch.of(query.q), query.after, query.limit + 1)
        shown = rows[: query.limit]
        more = len(rows) > query.limit
        return UserListPage([view for view, _ in shown], shown[-1][1] if more else None)
