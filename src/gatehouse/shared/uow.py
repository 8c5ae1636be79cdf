"""Unit of work base: one transaction, explicit commit, rollback on exit, and the domain events
recorded in it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from gatehouse.shared.events import EventRecorder


class UnitOfWork(EventRecorder, Protocol):
    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed and release the connection."""
        ...

    async def commit(self) -> None:
        """Run the in-transaction handlers of the recorded events, commit, then run the
        after-commit ones."""
        ...
