"""The audit trail in PostgreSQL: written in the caller's transaction, read by raw asyncpg."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.modules.audit.adapters.orm import audit_event_table
from gatehouse.modules.audit.application.ports import AuditEventViews, AuditFilter
from gatehouse.modules.audit.application.public import (
    AuditTrail,
    SecurityEvent,
    SecurityEventsErased,
)
from gatehouse.modules.audit.domain.model import AuditEvent
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id
from gatehouse.shared.messagebus import Subscription, Transaction
from gatehouse.shared.pg import ReadPool

MAX_USER_AGENT = 512


class SqlAlchemyAuditTrail(AuditTrail):
    """Bound to the caller's session: the event commits or rolls back with the change."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def record(self, event: SecurityEvent) -> None:
        await self._session.execute(
            insert(audit_event_table).values(
                id=new_id(),
                occurred_at=self._clock.now(),
                type=event.type,
                user_id=event.user_id,
                session_id=event.session_id,
                ip=event.ip,
                user_agent=event.user_agent[:MAX_USER_AGENT] if event.user_agent else None,
                details=dict(event.details),
            )
        )

    async def erase(self, user_id: uuid.UUID) -> None:
        t = audit_event_table
        await self._session.execute(delete(t).where(t.c.user_id == user_id))


def audit_subscriptions(clock: Clock) -> list[Subscription[Any]]:
    """Other modules' security events and erasures, written in their transaction."""

    async def record(event: SecurityEvent, tx: Transaction) -> None:
        await SqlAlchemyAuditTrail(tx.session, clock).record(event)

    async def erase(event: SecurityEventsErased, tx: Transaction) -> None:
        await SqlAlchemyAuditTrail(tx.session, clock).erase(event.user_id)

    return [
        Subscription(SecurityEvent, in_transaction=record),
        Subscription(SecurityEventsErased, in_transaction=erase),
    ]


_COLUMNS = "id, occurred_at, type, user_id, session_id, ip, user_agent, details::text AS details"


def _search_sql(where: AuditFilter, before: uuid.UUID | None) -> tuple[str, list[object]]:
    """Only the conditions given, so each shape of query is planned with its own index
    (``(user_id, id)``, ``(type, id)``, or the primary key), never a catch-all generic plan."""
    conditions: list[str] = []
    args: list[object] = []
    for column, op, value in (
        ("user_id", "=", where.user_id),
        ("type", "=", where.type),
        ("occurred_at", ">=", where.since),
        ("occurred_at", "<", where.until),
        ("id", "<", before),
    ):
        if value is not None:
            args.append(value)
            conditions.append(f"{column} {op} ${len(args)}")
    where_sql = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args.append(None)  # the limit's place
    # Column names and operators come from the fixed list above; every value is a parameter.
    limit = f"LIMIT ${len(args)}"
    sql = f"SELECT {_COLUMNS} FROM audit_event {where_sql} ORDER BY id DESC {limit}"  # noqa: S608
    return sql, args


class AsyncpgAuditEventViews(AuditEventViews):
    def __init__(self, pool: ReadPool) -> None:
        self._pool = pool

    async def search(
        self, where: AuditFilter, *, limit: int, before: uuid.UUID | None
    ) -> list[AuditEvent]:
        sql, args = _search_sql(where, before)
        args[-1] = limit
        rows = await self._pool.fetch(sql, *args)
        return [
            AuditEvent(
                id=row["id"],
                occurred_at=row["occurred_at"],
                type=row["type"],
                user_id=row["user_id"],
                session_id=row["session_id"],
                ip=row["ip"],
                user_agent=row["user_agent"],
                details=json.loads(row["details"]),
            )
            for row in rows
        ]
