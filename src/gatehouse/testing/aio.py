"""Run a coroutine to completion from synchronous code, on a private loop in a worker thread.

Session set-up (servers, template database, Alembic) is synchronous, but pytest-asyncio owns the
main thread's event loop; ``asyncio.run`` there would replace and then unset it. A thread with
its own loop keeps the two apart. Alembic's ``env.py`` calls ``asyncio.run`` itself, so the
same helper runs migrations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_in_thread(fn: Callable[[], T]) -> T:
    """Call ``fn`` in a fresh thread and return its result (or raise its exception)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatehouse-testing") as executor:
        return executor.submit(fn).result()


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``factory()`` on a new event loop in a fresh thread."""
    return run_in_thread(lambda: asyncio.run(factory()))
