"""What counts as "the database is not there", and what to do with a connection that hung.

Adapters only. PostgreSQL can be unreachable in many ways, and each reaches us dressed
differently: asyncpg raises its own errors (SQLSTATE class 08 on a lost connection, 57P01 to
57P03 while the server shuts down, restarts or starts, 53300 when it has no connection left),
``OSError`` when nothing listens, ``TimeoutError`` when it does not answer; SQLAlchemy wraps
these in ``DBAPIError`` subclasses (a server that is starting up is a plain ``DBAPIError``), or
raises its own pool ``TimeoutError``. ``is_database_outage`` looks through every wrapper, so
each of them becomes ``DatabaseUnavailable`` (503) and none a 500. Errors of the query itself
(bad input, a broken constraint, a bug) are not outages.

``harden_engine`` makes a SQLAlchemy engine throw away a connection that failed that way at
once (``terminate``, no goodbye to a server that does not answer) instead of handing it back
to the pool; the engine's pre-ping checks the others on their next checkout. After a restart
or a freeze the pool heals by itself, without restarting Gatehouse.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from gatehouse.shared.errors import Unavailable

# SQLSTATE classes of a connection that failed or a server that cannot serve: connection
# exception (08), insufficient resources (53: too many connections, out of memory, disk full)
# and operator intervention (57: shutdown, crash, starting up, a query cancelled by a timeout).
OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
_CLOSED = ("connection is closed", "connection was closed", "pool is closed")


class DatabaseUnavailable(Unavailable):
    code = "database_unavailable"
    title = "The database is not reachable"


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (``orig``), and its causes, each once."""
    seen: set[int] = set()
    todo = [error]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = (getattr(current, "orig", None), current.__cause__)
        todo.extend(link for link in inner if isinstance(link, BaseException))


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, PoolTimeout | DisconnectionError | OperationalError | TimeoutError):
        return True
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, asyncpg.PostgresError):
        return str(error.sqlstate or "")[:2] in OUTAGE_SQLSTATE_CLASSES
    if isinstance(error, asyncpg.InternalClientError):
        # The connection's protocol is in a state it cannot leave: seen when the server ends
        # a connection (shutting down) between two queries. The connection is lost.
        return True
    if isinstance(error, asyncpg.InterfaceError) and not isinstance(error, asyncpg.DataError):
        return any(phrase in str(error) for phrase in _CLOSED)
    return isinstance(error, OSError)  # refused, reset, unreachable, no route


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` (or anything it wraps) says the database cannot be reached or used."""
    return any(_is_outage(link) for link in _chain(error))


def terminate_driver_connection(connection: Any) -> None:
    """Close an asyncpg connection (or a pool's proxy of one) at once, without waiting on the
    server."""
    if not isinstance(connection, asyncpg.Connection | PoolConnectionProxy):
        return
    # A proxy whose connection died was handed back to its pool already: nothing left to do.
    with contextlib.suppress(asyncpg.InterfaceError):
        if not connection.is_closed():
            connection.terminate()


def harden_engine(engine: AsyncEngine) -> None:
    """Discard connections that failed with an outage; see the module's docstring."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "handle_error")
    def _outage_is_a_disconnect(context: ExceptionContext) -> None:
        if context.is_disconnect or not is_database_outage(context.original_exception):
            return
        # A statement timed out or the server went away: this connection is done for (the
        # ``invalidate`` hook below cuts it). The pool's others are left to the pre-ping on
        # their next checkout: recycling them all now would close each politely, waiting on
        # a server that may be frozen.
        context.is_disconnect = True
        context.invalidate_pool_on_disconnect = False

    @event.listens_for(sync_engine, "invalidate")
    def _terminate_hung(
        dbapi_connection: Any,
        _record: Any,
        error: BaseException | None,
    ) -> None:
        # SQLAlchemy closes an invalidated connection politely, waiting up to 2 s for a server
        # that may be frozen: after an outage, cut it instead.
        if error is not None and is_database_outage(error):
            terminate_driver_connection(getattr(dbapi_connection, "driver_connection", None))
