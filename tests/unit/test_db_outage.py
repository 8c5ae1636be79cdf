"""Every way PostgreSQL can be unreachable is an outage (503), however it is wrapped; errors of
the query itself are not (ADR 0026). The real servers' side: tests/faults."""

from __future__ import annotations

import socket

import asyncpg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from gatehouse.shared.db_outage import DatabaseUnavailable, is_database_outage
from gatehouse.shared.persistence import translate_db_error

pytestmark = pytest.mark.unit

DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]

OUTAGES = [
    asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),  # 57P03
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
    asyncpg.exceptions.CrashShutdownError("terminating connection because of crash"),  # 57P02
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),  # 53300
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
    asyncpg.exceptions.ConnectionFailureError("connection failure"),  # 08006
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    asyncpg.exceptions.InternalClientError("cannot switch to state 12; another operation"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    socket.gaierror(-2, "Name or service not known"),
    TimeoutError(),
    TimeoutError(),
]

NOT_OUTAGES = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    asyncpg.exceptions.UndefinedColumnError("column does not exist"),  # a bug
    asyncpg.exceptions.DataError("invalid input for query argument $1"),  # bad input
    asyncpg.exceptions.InterfaceError("the server expects 2 arguments, 1 was passed"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    ValueError("not a database error"),
]


def wrapped_by_sqlalchemy(error: Exception) -> BaseException:
    """``error`` as SQLAlchemy's asyncpg dialect raises it from a statement."""
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(DBAPI, error)
    except Exception as adapted:
        if isinstance(adapted, DBAPI.Error):
            return DBAPIError.instance("SELECT 1", (), adapted, DBAPI.Error)
        return adapted
    raise AssertionError("not raised")  # pragma: no cover


@pytest.mark.parametrize("error", OUTAGES, ids=lambda e: type(e).__name__)
def test_a_connection_level_failure_is_an_outage_raw_and_through_sqlalchemy(
    error: Exception,
) -> None:
    assert is_database_outage(error)
    assert is_database_outage(wrapped_by_sqlalchemy(error))
    assert isinstance(translate_db_error(wrapped_by_sqlalchemy(error), {}), DatabaseUnavailable)


@pytest.mark.parametrize("error", NOT_OUTAGES, ids=lambda e: type(e).__name__)
def test_an_error_of_the_query_itself_is_not_an_outage(error: Exception) -> None:
    assert not is_database_outage(error)
    assert not is_database_outage(wrapped_by_sqlalchemy(error))


def test_a_server_starting_up_is_an_outage_though_sqlalchemy_calls_it_a_plain_dbapi_error() -> None:
    # The finding of issue 16: `pg_ctl stop -m fast` made GET /me answer 500.
    error = wrapped_by_sqlalchemy(
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
    )
    assert type(error) is DBAPIError
    assert not error.connection_invalidated
    assert is_database_outage(error)


@pytest.mark.parametrize(
    "error",
    [
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached"),
        DisconnectionError("gone"),
        OperationalError("SELECT 1", (), Exception("server closed the connection")),
        DBAPIError("SELECT 1", (), Exception("?"), connection_invalidated=True),
    ],
    ids=lambda e: type(e).__name__,
)
def test_sqlalchemys_own_outage_errors_are_outages(error: Exception) -> None:
    assert is_database_outage(error)


def test_an_outage_several_wrappers_deep_is_found() -> None:
    outer = RuntimeError("while reading the user")
    outer.__cause__ = asyncpg.exceptions.AdminShutdownError("terminating connection")
    assert is_database_outage(outer)
