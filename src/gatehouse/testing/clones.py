"""A database per test, cloned from the migrated template: ahead of need and dropped behind.

``CREATE DATABASE … TEMPLATE`` copies the template's files (a fraction of a second), and
``DROP DATABASE`` waits for a checkpoint (up to a second or two on a server that syncs to disk).
Neither belongs in a test's time: while a test runs, the next database is already being cloned
on a thread of its own, and the databases of finished tests are dropped on other threads (their
checkpoints coincide, so several drops wait for one). At the end of the session the clone made
for a test that never came is dropped too, and every drop is waited for.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future, ThreadPoolExecutor

from gatehouse.testing.databases import create_database, drop_database, unique_name

log = logging.getLogger("gatehouse.testing")

DROPPERS = 2  # concurrent drops (each waits for a checkpoint; concurrent ones share it)


class TemplateClones:
    """Used by one thread (the test runner's): ``take`` a database, ``give_back`` its name."""

    def __init__(self, admin_url: str, template: str, prefix: str) -> None:
        self._admin_url = admin_url
        self._template = template
        self._prefix = prefix
        self._creating = ThreadPoolExecutor(1, thread_name_prefix="gatehouse-clone")
        self._dropping = ThreadPoolExecutor(DROPPERS, thread_name_prefix="gatehouse-drop")
        self._next: Future[tuple[str, str]] | None = None
        self._drops: list[Future[None]] = []

    def _clone(self) -> tuple[str, str]:
        name = unique_name(self._prefix)
        url = asyncio.run(create_database(self._admin_url, name, template=self._template))
        return name, url

    def _drop(self, name: str) -> None:
        asyncio.run(drop_database(self._admin_url, name))

    def take(self) -> tuple[str, str]:
        """A fresh migrated database (name, URL) of the caller's own; the next one is started."""
        ready = self._next or self._creating.submit(self._clone)
        self._next = self._creating.submit(self._clone)
        return ready.result()

    def give_back(self, name: str) -> None:
        """Drop ``name`` in the background (its connections are ended, if any are left)."""
        self._drops = [drop for drop in self._drops if not self._finished(drop)]
        self._drops.append(self._dropping.submit(self._drop, name))

    @staticmethod
    def _finished(drop: Future[None]) -> bool:
        if not drop.done():
            return False
        if drop.exception() is not None:
            log.warning("a test database could not be dropped: %r", drop.exception())
        return True

    def close(self) -> None:
        """Drop the clone nobody took and wait until every drop is done."""
        if self._next is not None:
            try:
                name, _ = self._next.result()
            except Exception as error:  # noqa: BLE001 - reported, and nothing to drop
                log.warning("cloning a test database failed: %r", error)
            else:
                self.give_back(name)
            self._next = None
        self._creating.shutdown(wait=True)
        self._dropping.shutdown(wait=True)
        for drop in self._drops:
            self._finished(drop)
        self._drops.clear()
