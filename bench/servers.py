"""Start target servers as pinned subprocesses, watch their CPU use, and always stop them."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_TICK = os.sysconf("SC_CLK_TCK")
_LIVE: set[subprocess.Popen[bytes]] = set()


def _stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM the server's own process group (it runs in a new session), then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    _LIVE.discard(process)


def stop_all() -> None:
    for process in list(_LIVE):
        _stop(process, grace=3.0)


atexit.register(stop_all)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def allowed_cpus(pid: int) -> str:
    """The CPUs the kernel lets ``pid`` run on, e.g. ``0`` ("?" if it is already gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "?"
    for line in status.splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return "?"


@dataclass(frozen=True, slots=True)
class CpuSample:
    at: float
    process_seconds: float
    cpu_busy_ticks: int
    cpu_total_ticks: int
    load_busy_ticks: int
    load_total_ticks: int


@dataclass(frozen=True, slots=True)
class CpuUsage:
    server: float  # share of the server CPU used by the server process (all its threads)
    other: float  # share of the server CPU used by anything else (noise from other processes)
    load: float  # busy share of the load CPU (wrk, and embedded PostgreSQL/Redis): near 100%
    # there would mean the load generator, not the server, limits the rate


def resident_mib(pid: int) -> float:
    """``pid``'s resident memory (VmRSS) in MiB, 0 if it is already gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_seconds(pid: int) -> float:
    """CPU seconds ``pid`` has used (user + system, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime, all threads


def _cpu_ticks(cpu: int) -> tuple[int, int]:
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name == f"cpu{cpu}":
            user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in values[:8])
            busy = user + nice + system + irq + softirq + steal
            return busy, busy + idle + iowait
    msg = f"cpu{cpu} not found in /proc/stat"
    raise RuntimeError(msg)


class Server:
    """One target: ``python -m <module> --port P --cpu C``, in its own session."""

    def __init__(
        self,
        name: str,
        module: str,
        *,
        cpu: int,
        env: Mapping[str, str],
        log_dir: Path,
        cwd: Path = ROOT,
        start_timeout: float = 60.0,
        python: str = sys.executable,  # a peer runs in its own environment
    ) -> None:
        self.name = name
        self.module = module
        self.cpu = cpu
        self.port = free_port()
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.python = python
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def argv(self) -> Sequence[str]:
        return [self.python, "-m", self.module, "--port", str(self.port), "--cpu", str(self.cpu)]

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        path = os.pathsep.join(filter(None, [str(ROOT), self.env.get("PYTHONPATH")]))
        env = {**self.env, "PYTHONPATH": path}
        with self.log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            self._process = subprocess.Popen(
                self.argv(),
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        _LIVE.add(self._process)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """uvicorn binds the socket only after the lifespan startup has completed."""
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                msg = f"{self.name} exited with {self._process.returncode}:\n{self.log_tail()}"
                raise RuntimeError(msg)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        msg = f"{self.name} did not listen within {self.start_timeout:.0f} s:\n{self.log_tail()}"
        raise RuntimeError(msg)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self._process is not None:
            _stop(self._process)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def sample(self, load_cpu: int) -> CpuSample:
        busy, total = _cpu_ticks(self.cpu)
        load_busy, load_total = _cpu_ticks(load_cpu)
        return CpuSample(
            time.monotonic(), process_seconds(self.pid), busy, total, load_busy, load_total
        )

    @staticmethod
    def usage(before: CpuSample, after: CpuSample) -> CpuUsage:
        total = max(1, after.cpu_total_ticks - before.cpu_total_ticks) / _TICK
        server = after.process_seconds - before.process_seconds
        busy = (after.cpu_busy_ticks - before.cpu_busy_ticks) / _TICK
        load_total = max(1, after.load_total_ticks - before.load_total_ticks)
        return CpuUsage(
            server=min(1.0, server / total),
            other=max(0.0, (busy - server) / total),
            load=(after.load_busy_ticks - before.load_busy_ticks) / load_total,
        )

    def wait_idle(self, *, below: float = 0.05, window: float = 0.5, limit: float = 60.0) -> float:
        """Wait until the server uses less than ``below`` of a CPU (abandoned work drained).

        Returns the seconds waited. wrk closes its connections at the end of a run, but a
        server may still be hashing the passwords of requests nobody waits for any more.
        """
        started = time.monotonic()
        while time.monotonic() - started < limit:
            before = process_seconds(self.pid)
            time.sleep(window)
            if (process_seconds(self.pid) - before) / window < below:
                break
        return time.monotonic() - started


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    try:
        server.start()
        yield server
    finally:
        server.stop()
