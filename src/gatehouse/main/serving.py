"""``gatehouse serve``: one server process, or several on one socket (``--workers``)."""

from __future__ import annotations

import logging
import os
import signal
import socket
from typing import Any
from urllib.parse import urlsplit

from gatehouse.main.embedded import embedded_infrastructure
from gatehouse.main.settings import Settings

log = logging.getLogger("gatehouse.cli")


def _mail_line(settings: Settings) -> str:
    if not settings.dispatch_in_serve:
        return "sent by `gatehouse worker` (GATEHOUSE_DISPATCH_IN_SERVE=false)"
    if settings.smtp_url:
        server = urlsplit(settings.smtp_url)  # host and port only: never the credentials
        return f"sent through {server.hostname}:{server.port or 'default port'}"
    return (
        "not sent (GATEHOUSE_SMTP_URL is unset): each one is logged, on standard error, as one "
        "line: mail to <address>: <subject>: <link> code <code>"
    )


def banner(settings: Settings, resolved: Settings, host: str, port: int) -> str:
    """What ``gatehouse serve`` prints once it listens (dev and test modes): where things are.

    ``settings`` as configured, ``resolved`` with the embedded servers' URLs filled in.
    """
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - a display name
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    embedded = [
        name
        for name, url in (("PostgreSQL", settings.database_url), ("Redis", settings.redis_url))
        if not url
    ]
    data = (
        f"embedded {' and '.join(embedded)} in {settings.data_dir.resolve()}"
        if embedded
        else "PostgreSQL and Redis from GATEHOUSE_DATABASE_URL and GATEHOUSE_REDIS_URL"
    )
    lines = [
        f"Gatehouse is serving ({resolved.env} mode). Ctrl-C stops it.",
        f"  API    {base}/api/v1",
        f"  Docs   {base}/docs",
        f"  Mails  {_mail_line(resolved)}",
        f"  Data   {data}; `gatehouse db shell` opens psql on the database",
    ]
    if resolved.public_url != base:
        lines.append(f"  Links in mails start with {resolved.public_url} (GATEHOUSE_PUBLIC_URL)")
    return "\n".join(lines)


def _server(config: Any, announce: str | None) -> Any:
    import uvicorn  # noqa: PLC0415

    class Server(uvicorn.Server):
        """Prints ``announce`` on standard output once the socket listens."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if announce and self.started and not self.should_exit:
                print(announce, flush=True)

    return Server(config)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def serve(settings: Settings, host: str | None, port: int | None, *, workers: int = 1) -> None:
    """``gatehouse serve``: the embedded servers if configured so, the secrets checked (the app
    is built once here), migrations applied, then one server process, or ``workers`` of them
    on one socket (uvicorn's supervisor), each building its own app (``worker_app``)."""
    import uvicorn  # noqa: PLC0415

    from gatehouse.main.app import create_app  # noqa: PLC0415
    from gatehouse.main.http.protocol import LimitedHttpToolsProtocol  # noqa: PLC0415
    from gatehouse.main.monitoring import monitored  # noqa: PLC0415

    host = host or settings.host
    port = port or settings.port
    with embedded_infrastructure(settings) as resolved, monitored(resolved) as monitoring:
        # refuses missing or weak secrets before touching anything
        app = create_app(resolved, monitoring=monitoring)
        migrate_apart(resolved)
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "log_config": None,
            "access_log": False,
            "server_header": False,
            "proxy_headers": False,
            # SIGTERM: stop accepting, let requests in flight finish (at most this long), then
            # the lifespan's shutdown (the dispatcher gets the same grace for a mail).
            "timeout_graceful_shutdown": resolved.shutdown_grace_seconds,
            "loop": "uvloop",
            "http": LimitedHttpToolsProtocol,  # httptools, with the contract's head limits
        }
        log.info(
            "serving",
            extra={
                "url": f"http://{host}:{port}",
                "docs": f"http://{host}:{port}/docs",
                "workers": workers,
            },
        )
        announce = banner(settings, resolved, host, port) if resolved.env != "production" else None
        if workers > 1:
            del app  # each worker builds its own
            _serve_workers(settings, resolved, workers, options, announce)
            return
        # uvicorn shuts down on SIGTERM, then raises the signal again: as KeyboardInterrupt, it
        # unwinds this block and stops the embedded servers, instead of killing the process.
        signal.signal(signal.SIGTERM, _interrupt)
        _server(uvicorn.Config(app, **options), announce).run()


def migrate_from_stdin() -> None:
    """The child of ``migrate_apart``: the parent's settings, pickled, on standard input."""
    import pickle  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from gatehouse.main.cli import migrate  # noqa: PLC0415
    from gatehouse.main.logging import configure_logging  # noqa: PLC0415

    settings = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from our own parent, over a pipe
    assert isinstance(settings, Settings)
    configure_logging(settings.log_level, json=settings.log_json)
    migrate(settings)


def migrate_apart(settings: Settings) -> None:
    """The migrations, in a short-lived process of their own (the same interpreter, given these
    settings): Alembic, and what it loads (about 9 MiB), never enters the server's memory. A
    failure stops the start, as it always did; the child's traceback is on standard error."""
    import pickle  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    child = [
        sys.executable,
        "-c",
        "from gatehouse.main.serving import migrate_from_stdin as m; m()",
    ]
    done = subprocess.run(child, input=pickle.dumps(settings), check=False)  # noqa: S603
    if done.returncode != 0:
        msg = f"the migrations failed (exit code {done.returncode}); see the lines above"
        raise SystemExit(msg)


def worker_environment(settings: Settings, resolved: Settings, workers: int) -> dict[str, str]:
    """What each worker process reads on top of this one's environment: the embedded servers'
    URLs, and its share of the CPUs for password hashing when the pool is sized by default
    (``GATEHOUSE_HASH_CONCURRENCY=0``: the CPUs this process may use, split between them)."""
    assert resolved.database_url is not None
    assert resolved.redis_url is not None
    env = {
        "GATEHOUSE_DATABASE_URL": resolved.database_url,
        "GATEHOUSE_REDIS_URL": resolved.redis_url,
    }
    if settings.hash_concurrency == 0:
        share = max(1, len(os.sched_getaffinity(0)) // workers)
        env["GATEHOUSE_HASH_CONCURRENCY"] = str(share)
    return env


def _serve_workers(
    settings: Settings,
    resolved: Settings,
    workers: int,
    options: dict[str, Any],
    announce: str | None,
) -> None:
    """uvicorn's supervisor: it stops its workers on SIGTERM or Ctrl-C, and then returns, so
    the embedded servers stop after them."""
    import uvicorn  # noqa: PLC0415

    os.environ.update(worker_environment(settings, resolved, workers))
    if announce:
        print(f"{announce}\n  Workers {workers} processes", flush=True)
    uvicorn.run(
        "gatehouse.main.worker_app:create_app_from_environment",
        factory=True,
        workers=workers,
        **options,
    )
