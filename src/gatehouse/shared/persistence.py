"""SQLAlchemy kernel: one metadata with a naming convention, one registry, and the UoW base.

Adapters only. Infrastructure errors are translated here, at the edge: a named unique
constraint becomes the domain ``Conflict`` its module registered; a database that cannot be
reached or used, however the failure is dressed, becomes ``DatabaseUnavailable``
(``gatehouse.shared.db_outage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Dialect, MetaData, Text, TypeDecorator
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import registry

from gatehouse.shared.db_outage import DatabaseUnavailable, is_database_outage
from gatehouse.shared.errors import Conflict, GatehouseError
from gatehouse.shared.events import DomainEvent
from gatehouse.shared.messagebus import EventHandlers

NAMING_CONVENTION: Mapping[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=dict(NAMING_CONVENTION))
mapper_registry = registry(metadata=metadata)


class TextTuple(TypeDecorator[tuple[str, ...]]):
    """``TEXT[]`` as an immutable tuple: a change is a reassignment, which the ORM always saves."""

    impl = ARRAY(Text)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> list[str] | None:
        return None if value is None else list(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...] | None:
        return None if value is None else tuple(value)


def _constraint_name(error: IntegrityError) -> str | None:
    orig: Any = error.orig
    name = getattr(orig, "constraint_name", None)
    cause = getattr(orig, "__cause__", None)
    return name or getattr(cause, "constraint_name", None)


def translate_db_error(
    error: BaseException, conflicts: Mapping[str, type[Conflict]]
) -> GatehouseError | None:
    """Map an infrastructure error to a domain error, or ``None`` when it is a real bug."""
    if isinstance(error, IntegrityError):
        name = _constraint_name(error)
        if name is not None and name in conflicts:
            return conflicts[name]()
        return None
    if is_database_outage(error):
        return DatabaseUnavailable()
    return None


class SqlAlchemyUnitOfWork:
    """Owns one ``AsyncSession`` for one transaction. Commit is explicit; exit rolls back.

    Subclasses attach their repositories in ``_attach`` and list the unique constraints they
    translate in ``conflicts``. Recorded events are handled through ``events`` at commit: the
    in-transaction handlers first (in recording order, including events they record), then
    the commit, then the after-commit handlers.
    """

    conflicts: Mapping[str, type[Conflict]] = {}

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], events: EventHandlers
    ) -> None:
        self._session_factory = session_factory
        self._events = events
        self._session: AsyncSession | None = None
        self._recorded: list[DomainEvent] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            msg = "the unit of work is not open"
            raise RuntimeError(msg)
        return self._session

    def _attach(self, session: AsyncSession) -> None:
        """Bind the module's repositories to the session."""

    async def __aenter__(self) -> Self:
        self._recorded = []
        self._session = self._session_factory()
        self._attach(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        self._recorded = []
        try:
            # Closing rolls back whatever was not committed and detaches the objects with
            # their loaded state intact, so results stay readable after the block.
            await session.close()
        except Exception:  # noqa: BLE001 - the connection may be gone; drop it from the pool
            await session.invalidate()
        if exc is not None and not isinstance(exc, GatehouseError):
            translated = translate_db_error(exc, self.conflicts)
            if translated is not None:
                raise translated from exc

    async def flush(self) -> None:
        await self.session.flush()

    def record(self, event: DomainEvent) -> None:
        self._recorded.append(event)

    async def commit(self) -> None:
        handled: list[DomainEvent] = []
        while self._recorded:
            event = self._recorded.pop(0)
            await self._events.in_transaction(event, self)
            handled.append(event)
        await self.session.commit()
        for event in handled:
            await self._events.after_commit(event)
