"""Run wrk and read its ``--latency`` report."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).resolve().parent / "lua"
INSTALL = "apt-get update && apt-get install -y wrk"

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_TIME = r"([\d.]+)(us|ms|s|m|h)"


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    requests: int
    p50_ms: float
    p75_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: dict[str, int]
    raw: str

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())


class WrkError(RuntimeError):
    pass


_LIVE: set[subprocess.Popen[str]] = set()


def stop_all() -> None:
    """Kill any wrk still running (an interrupted measurement); wrk holds no state worth keeping."""
    for process in list(_LIVE):
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
        _LIVE.discard(process)


atexit.register(stop_all)


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str) -> WrkResult:
    """Read wrk 4's text report (``--latency`` required for the percentiles)."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in ", output, re.MULTILINE)
    percentiles = {
        int(p): _ms(v, u)
        for p, v, u in re.findall(rf"^\s+(50|75|90|99)%\s+{_TIME}", output, re.MULTILINE)
    }
    latency = re.search(rf"^\s+Latency\s+{_TIME}\s+{_TIME}\s+{_TIME}", output, re.MULTILINE)
    if rps is None or total is None or len(percentiles) != 4 or latency is None:
        msg = f"could not read the wrk report:\n{output}"
        raise WrkError(msg)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = dict(
        zip(
            ("connect", "read", "write", "timeout"),
            (int(n) for n in sockets.groups()) if sockets else (0, 0, 0, 0),
            strict=True,
        )
    )
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        p50_ms=percentiles[50],
        p75_ms=percentiles[75],
        p90_ms=percentiles[90],
        p99_ms=percentiles[99],
        max_ms=_ms(latency.group(5), latency.group(6)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=socket_errors,
        raw=output,
    )


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when missing and we are root, else exit 2."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"wrk is missing; installing it: {INSTALL}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, env=env, timeout=600)
        found = shutil.which("wrk")
        if found:
            return found
    print(
        f"error: the load generator wrk is not installed. Install it with:\n  sudo {INSTALL}",
        file=sys.stderr,
    )
    raise SystemExit(2)


@dataclass(frozen=True, slots=True)
class WrkJob:
    """One wrk invocation; ``command()`` gives the argv, ``env`` what the Lua script reads."""

    url: str
    connections: int
    duration_s: float
    threads: int = 1
    timeout_s: float = 5.0
    script: str | None = None  # a file name in bench/lua/
    env: tuple[tuple[str, str], ...] = ()

    def command(self, wrk: str) -> list[str]:
        argv = [
            wrk,
            "--latency",
            f"-t{min(self.threads, self.connections)}",
            f"-c{self.connections}",
            f"-d{max(1, round(self.duration_s))}s",
            f"--timeout={max(1, round(self.timeout_s))}s",
        ]
        if self.script:
            argv += ["-s", str(LUA_DIR / self.script)]
        return [*argv, self.url]

    def environment(self) -> dict[str, str]:
        return {**os.environ, **dict(self.env)}

    def start(self, wrk: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            self.command(wrk),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.environment(),
        )
        _LIVE.add(process)
        return process

    def finish(self, process: subprocess.Popen[str]) -> WrkResult:
        try:
            output, _ = process.communicate(timeout=self.duration_s + self.timeout_s + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            msg = f"wrk did not finish in time: {' '.join(process.args)}"  # type: ignore[arg-type]
            raise WrkError(msg) from None
        finally:
            _LIVE.discard(process)
        if process.returncode != 0:
            msg = f"wrk exited with {process.returncode}:\n{output}"
            raise WrkError(msg)
        return parse(output)
