"""One fake per port, each kept honest by a suite in ``tests/contract`` that runs the same tests
against it and against the real adapter.

Every fake subclasses its port explicitly, so mypy checks it against the Protocol.
"""

from __future__ import annotations

from tests.support.fakes.auth import InMemoryAttemptLimiter, InMemorySessionRevocations
from tests.support.fakes.notifications import InMemoryMailOutbox

__all__ = ["InMemoryAttemptLimiter", "InMemoryMailOutbox", "InMemorySessionRevocations"]
