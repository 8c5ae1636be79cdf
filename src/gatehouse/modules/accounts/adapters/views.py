"""The read side of accounts on the raw asyncpg pool: one prepared primary-key query, and the
administrator's user list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from gatehouse.modules.accounts.application.user_list import (
    UserListPosition,
    UserListViews,
    UserSearch,
)
from gatehouse.modules.accounts.application.views import UserView, UserViews
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


def _search(
    email: tuple[str, str | None],
    name: tuple[str, str | None],
    after: UserListPosition | None,
    limit: int,
) -> tuple[str, list[Any]]:
    """Email matches by email, then name-only matches by (lower(name), id): each part one
    index range scan with its own LIMIT, the two appended and cut to the page."""
    p = _Params()
    parts = []
    if after is None or not after.by_name:
        email_after = "" if after is None else after.key
        parts.append(
            f"(SELECT {_COLUMNS}, false AS by_name, email AS key FROM accounts_user "  # noqa: S608
            f"WHERE {_range(_EMAIL, *email, p)} AND {_EMAIL} > {p(email_after, 'text')} "
            f"ORDER BY {_EMAIL} LIMIT {p(limit, 'int')})"
        )
    name_key, name_id = (
        ("", uuid.UUID(int=0))
        if after is None or not after.by_name
        else (
            after.key,
            after.id,
        )
    )
    name_range = _range(_NAME, *name, p)
    not_email = f"NOT ({_range(_EMAIL, *email, p)})"
    parts.append(
        f"(SELECT {_COLUMNS}, true AS by_name, lower(display_name) AS key "  # noqa: S608
        f"FROM accounts_user WHERE {name_range} "
        f"AND ({_NAME}, id) > ({p(name_key, 'text')}, {p(name_id, 'uuid')}) AND {not_email} "
        f"ORDER BY {_NAME}, id LIMIT {p(limit, 'int')})"
    )
    query = (
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS page "  # noqa: S608
        f'ORDER BY by_name, key COLLATE "C", id LIMIT {p(limit, "int")}'
    )
    return query, p.values


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


def _position(row: asyncpg.Record) -> UserListPosition:
    return UserListPosition(by_name=row["by_name"], key=row["key"], id=row["id"])


class AsyncpgUserViews(UserViews, UserListViews):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    async def get(self, user_id: uuid.UUID) -> UserView | None:
        row = await self._pool.fetchrow(_BY_ID, user_id)
        return None if row is None else _view(row)

    async def list_users(
        self, search: UserSearch | None, after: UserListPosition | None, limit: int
    ) -> list[tuple[UserView, UserListPosition]]:
        rows: Sequence[asyncpg.Record]
        if search is None:
            rows = await self._pool.fetch(_ALL, "" if after is None else after.key, limit)
        else:
            email = search.email_prefix
            name = await self._lower(search.name_prefix)
            query, args = _search(
                (email, prefix_successor(email)), (name, prefix_successor(name)), after, limit
            )
            rows = await self._pool.fetch(query, *args)
        return [
            (_view(row), UserListPosition(row["by_name"], row["key"], row["id"])) for row in rows
        ]

    async def _lower(self, text: str) -> str:
        """``lower()`` as the database applies it to the indexed names (its ctype decides
        beyond ASCII)."""
        if text.isascii():
            return text.lower()
        row = await self._pool.fetchrow("SELECT lower($1::text) AS lowered", text)
        assert row is not None
        return str(row["lowered"])
