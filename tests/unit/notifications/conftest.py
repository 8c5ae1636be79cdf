"""The dispatcher unit tests' ``parts`` fixture (see dispatching.py beside it)."""

from __future__ import annotations

import pytest

from tests.unit.notifications.dispatching import Parts, new_parts


@pytest.fixture
def parts() -> Parts:
    return new_parts()
