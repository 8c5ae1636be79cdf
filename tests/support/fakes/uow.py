"""The in-memory unit of work both modules' fakes build on (contracts:
tests/contract/test_accounts_unit_of_work.py, tests/contract/test_auth_unit_of_work_*.py)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.events import DomainEvent
from gatehouse.shared.messagebus import Subscription


@dataclass
class Recorded:
    """The events a unit of work recorded, and the views tests read of them."""

    recorded: list[DomainEvent] = field(default_factory=list)

    @property
    def mails(self) -> list[OutgoingMail]:
        return [event for event in self.recorded if isinstance(event, OutgoingMail)]

    @property
    def events(self) -> list[SecurityEvent]:
        return [event for event in self.recorded if isinstance(event, SecurityEvent)]


StateT = TypeVar("StateT", bound=Recorded)


class InMemoryUnitOfWork(Generic[StateT]):
    """A unit of work over a copied state: changes become visible to the next one on commit.

    Recorded events are kept in the state (in-transaction handlers write where a test reads:
    ``mails``, ``events``); ``after_commit`` subscriptions (the real ones) run after a commit.
    """

    committed: StateT

    def __init__(self, committed: StateT, after_commit: Sequence[Subscription[Any]] = ()) -> None:
        self.committed = committed
        self.commits = 0
        self._after_commit = [s for s in after_commit if s.after_commit is not None]

    def __call__(self) -> Self:
        return self

    def _attach(self, state: StateT) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        self._working = copy.deepcopy(self.committed)
        self._attach(self._working)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._working

    def record(self, event: DomainEvent) -> None:
        self._working.recorded.append(event)

    async def commit(self) -> None:
        new = self._working.recorded[len(self.committed.recorded) :]
        self.committed = copy.deepcopy(self._working)
        self.commits += 1
        for event in new:
            for subscription in self._after_commit:
                if isinstance(event, subscription.event) and subscription.after_commit:
                    await subscription.after_commit(event)
