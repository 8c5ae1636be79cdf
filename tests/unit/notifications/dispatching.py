"""What the dispatcher's unit tests share: its parts (an in-memory outbox, a recording
transport, a fixed clock; the ``parts`` fixture in conftest.py) and ``handler(parts)``, the
dispatch handler the container builds on them."""

from __future__ import annotations

from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from tests.support.clock import FixedClock
from tests.support.containers import notifications_container
from tests.support.fakes.notifications import InMemoryOutboxStore, RecordingTransport

Parts = tuple[InMemoryOutboxStore, RecordingTransport, FixedClock]


def new_parts() -> Parts:
    return InMemoryOutboxStore(), RecordingTransport(), FixedClock()


def handler(parts: Parts) -> DispatchOutboxHandler:
    store, transport, clock = parts
    built: DispatchOutboxHandler = notifications_container(
        clock=clock, store=store, transport=transport
    ).dispatch()
    return built
