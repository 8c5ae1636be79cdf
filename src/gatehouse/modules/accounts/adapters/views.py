"""The read side of accounts on the raw asyncpg pool: one prepared primary-key query, the
administrator's user list, and the user's linked identities."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from gatehouse.modules.accounts.application.user_list import (
    UserListPosition,
    UserListViews,
    UserSearch,
)
from gatehouse.modules.accounts.application.views import (
    IdentityView,
    IdentityViews,
    UserView,
    UserViews,
)
from gatehouse.modules.accounts.domain.model import MfaSummary
from gatehouse.shared.pg import ReadPool

_COLUMNS = (
    "id, email, email_verified_at IS NOT NULL AS email_verified, display_name, roles, "
    "is_active, created_at, locale, mfa_totp, mfa_email, mfa_backup_codes"
)
_BY_ID = f"SELECT {_COLUMNS} FROM accounts_user WHERE id = $1"  # noqa: S608 - constant

# The user list reads two indexes of the migration 2026-11-23_admin_user_search, both
# byte-wise: ix_accounts_user_email_c (email COLLATE "C") and ix_accounts_user_display_name_c
# (lower(display_name) COLLATE "C", id). A prefix is a range [prefix, successor) of one of
# them, read in index order from the cursor on and stopped at the page size: no LIKE (so
# ``%`` and ``_`` are plain characters), no sort of all matches, no OFFSET.
_EMAIL = 'email COLLATE "C"'
_NAME = 'lower(display_name) COLLATE "C"'
_ALL = (
    f"SELECT {_COLUMNS}, false AS by_name, email AS key FROM accounts_user "  # noqa: S608
    f"WHERE {_EMAIL} > $1 ORDER BY {_EMAIL} LIMIT $2"
)

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def prefix_successor(prefix: str) -> str | None:
    """The least string above every string that begins with ``prefix``, in code point order
    (PostgreSQL's "C" order for UTF-8); None when there is none (every string at or above
    ``prefix`` begins with it)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop()) + 1
        if last in _SURROGATES:  # not encodable in UTF-8; none of them is stored either
            last = _SURROGATES.stop
        if last <= _MAX_CODE_POINT:
            return "".join(chars) + chr(last)
    return None


class _Params:
    def __init__(self) -> None:
        self.values: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.values.append(value)
        return f"${len(self.values)}::{cast}"


def _range(expr: str, low: str, high: str | None, p: _Params) -> str:
    cond = f"{expr} >= {p(low, 'text')}"
    return cond if high is None else f"{cond} AND {expr} < {p(high, 'text')}"


Bounds = tuple[str, str | None]  # a prefix and its successor (prefix_successor)


def email_part(email: Bounds, after: str, limit: int) -> tuple[str, list[Any]]:
    """The users whose email begins with the prefix, by email, after ``after``: one range
    scan of ix_accounts_user_email_c, stopped at ``limit``."""
    p = _Params()
    query = (
        f"SELECT {_COLUMNS}, false AS by_name, email AS key FROM accounts_user "  # noqa: S608
        f"WHERE {_range(_EMAIL, *email, p)} AND {_EMAIL} > {p(after, 'text')} "
        f"ORDER BY {_EMAIL} LIMIT {p(limit, 'int')}"
    )
    return query, p.values


def name_part(
    email: Bounds, name: Bounds, after: tuple[str, uuid.UUID] | None, limit: int
) -> tuple[str, list[Any]]:
    """The users whose lower-cased display name begins with the prefix and whose email does
    not (the email part showed those), by (name, id), after ``after``: one range scan of
    ix_accounts_user_display_name_c, stopped at ``limit``.

    The scan starts at the prefix, or at ``after`` (whose name is at or above it): never both,
    as PostgreSQL cannot tell which of a row comparison and a bound on its first column is
    the tighter one, and starts from the beginning of the index."""
    p = _Params()
    low, high = name
    if after is None:
        start = f"{_NAME} >= {p(low, 'text')}"
    else:
        start = f"({_NAME}, id) > ({p(after[0], 'text')}, {p(after[1], 'uuid')})"
    end = "" if high is None else f" AND {_NAME} < {p(high, 'text')}"
    query = (
        f"SELECT {_COLUMNS}, true AS by_name, lower(display_name) AS key "  # noqa: S608
        f"FROM accounts_user WHERE {start}{end} AND NOT ({_range(_EMAIL, *email, p)}) "
        f"ORDER BY {_NAME}, id LIMIT {p(limit, 'int')}"
    )
    return query, p.values


def _position(row: asyncpg.Record) -> UserListPosition:
    return UserListPosition(by_name=row["by_name"], key=row["key"], id=row["id"])


def _view(row: asyncpg.Record) -> UserView:
    return UserView(
        id=row["id"],
        email=row["email"],
        email_verified=row["email_verified"],
        display_name=row["display_name"],
        roles=tuple(row["roles"]),
        is_active=row["is_active"],
        created_at=row["created_at"],
        locale=row["locale"],
        mfa=MfaSummary(row["mfa_totp"], row["mfa_email"], row["mfa_backup_codes"]),
    )


class AsyncpgUserViews(UserViews, UserListViews):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    async def get(self, user_id: uuid.UUID) -> UserView | None:
        row = await self._pool.fetchrow(_BY_ID, user_id)
        return None if row is None else _view(row)

    async def list_users(
        self, search: UserSearch | None, after: UserListPosition | None, limit: int
    ) -> list[tuple[UserView, UserListPosition]]:
        rows: list[asyncpg.Record]
        if search is None:
            rows = await self._pool.fetch(_ALL, "" if after is None else after.key, limit)
        else:
            rows = await self._search(search, after, limit)
        return [(_view(row), _position(row)) for row in rows]

    async def _search(
        self, search: UserSearch, after: UserListPosition | None, limit: int
    ) -> list[asyncpg.Record]:
        """The email part, then, when it runs out within this page, the name part: a page
        inside the email part never reads the name index."""
        email = (search.email_prefix, prefix_successor(search.email_prefix))
        rows: list[asyncpg.Record] = []
        if after is None or not after.by_name:
            query, args = email_part(email, after.key if after else "", limit)
            rows = await self._pool.fetch(query, *args)
        if len(rows) < limit:
            lowered = await self._lower(search.name_prefix)
            name = (lowered, prefix_successor(lowered))
            # A cursor of this part is at or above the prefix; one that is not starts it over.
            start = (after.key, after.id) if after and after.by_name else None
            if start is not None and start[0] < lowered:  # code point order, as "C"
                start = None
            query, args = name_part(email, name, start, limit - len(rows))
            rows += await self._pool.fetch(query, *args)
        return rows

    async def _lower(self, text: str) -> str:
        """``lower()`` as the database applies it to the indexed names (its ctype decides
        beyond ASCII)."""
        if text.isascii():
            return text.lower()
        row = await self._pool.fetchrow("SELECT lower($1::text) AS lowered", text)
        assert row is not None
        return str(row["lowered"])


# A user has a handful of identities (one per provider); the unique (user_id, provider) index
# finds them, and the page is sorted in memory.
_IDENTITIES = (
    "SELECT id, provider, email, created_at, last_used_at FROM accounts_identity "
    "WHERE user_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
)


class AsyncpgIdentityViews(IdentityViews):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    async def of_user(
        self, user_id: uuid.UUID, *, limit: int, before: uuid.UUID | None
    ) -> list[IdentityView]:
        rows = await self._pool.fetch(_IDENTITIES, user_id, before, limit)
        return [
            IdentityView(
                id=row["id"],
                provider=row["provider"],
                email=row["email"],
                created_at=row["created_at"],
                last_used_at=row["last_used_at"],
            )
            for row in rows
        ]
