"""The bench's options (flags and ``GATEHOUSE_BENCH_*``) and what it records of the machine."""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.servers import ROOT

ENV_PREFIX = "GATEHOUSE_BENCH_"
PHASES = (
    "gatehouse", "bare-json", "bare-read", "no-revocation", "refresh", "bare-refresh", "peers",
    "login", "info",
)  # fmt: skip


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    rounds: int
    warmup_s: float
    duration_s: float
    login_duration_s: float
    read_connections: int
    login_connections: int
    probe_connections: int
    refresh_connections: int
    wrk_threads: int
    bcrypt_iterations: int
    server_cpu: int
    load_cpu: int
    pairs: int
    pair_duration_s: float
    phases: tuple[str, ...]
    quick: bool


# (flag, env suffix, type, default, quick default, help)
_OPTIONS: list[tuple[str, str, type, float | int, float | int, str]] = [
    ("--rounds", "ROUNDS", int, 3, 1, "rounds of the read targets, interleaved; medians"),
    ("--warmup", "WARMUP", float, 3, 1, "seconds of load before each measurement"),
    ("--duration", "DURATION", float, 10, 3, "seconds measured per read target"),
    ("--login-duration", "LOGIN_DURATION", float, 20, 6, "seconds measured for login"),
    ("--read-connections", "READ_CONNECTIONS", int, 64, 64, "wrk connections for reads"),
    ("--login-connections", "LOGIN_CONNECTIONS", int, 16, 16, "wrk connections for login"),
    ("--probe-connections", "PROBE_CONNECTIONS", int, 2, 2, "the /health/live probe's"),
    ("--refresh-connections", "REFRESH_CONNECTIONS", int, 8, 8, "refresh (one wrk thread each)"),
    ("--wrk-threads", "WRK_THREADS", int, 1, 1, "wrk threads (all on the load CPU)"),
    ("--bcrypt-iterations", "BCRYPT_ITERATIONS", int, 20, 5, "checkpw calls per rate run"),
    ("--server-cpu", "SERVER_CPU", int, 0, 0, "the CPU every server is pinned to"),
    ("--load-cpu", "LOAD_CPU", int, 1, 1, "the CPU of wrk, the runner, embedded servers"),
    ("--pairs", "PAIRS", int, 24, 3, "alternations of /me with and without the revocation check"),
    ("--pair-duration", "PAIR_DURATION", float, 3, 2, "seconds measured per side of a pair"),
]


def parse_args(argv: Sequence[str] | None, description: str | None = None) -> Config:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description=description,
        epilog=f"Every option can also be set as {ENV_PREFIX}<NAME>, e.g. {ENV_PREFIX}DURATION.",
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    # Taken by bench/modes.py before this parser sees them; here for --help.
    parser.add_argument(
        "--outbox",
        nargs="?",
        metavar="N",
        help="instead of the run: one worker drains N queued mails (default 100000) into an "
        "SMTP sink (bench/outbox_drain.py; its options follow, e.g. --concurrency)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="instead of the run: /me, refresh and login with 1 000 000 users and 5 000 000 "
        "session rows (bench/scale.py; its options follow, e.g. --users)",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated phases to run, of: {', '.join(PHASES)} (default: all)",
    )
    parser.add_argument(
        "--no-info-logs",
        action="store_true",
        help="skip the extra Gatehouse run with the request log at info level",
    )
    for flag, _, kind, default, quick, text in _OPTIONS:
        parser.add_argument(flag, type=kind, help=f"{text} (default {default}, quick {quick})")
    args = parser.parse_args(argv)
    quick = args.quick or os.environ.get(f"{ENV_PREFIX}QUICK", "") in {"1", "true", "yes"}
    values: dict[str, Any] = {}
    for flag, env, kind, default, quick_default, _ in _OPTIONS:
        name = flag.removeprefix("--").replace("-", "_")
        given = getattr(args, name)
        if given is None and os.environ.get(ENV_PREFIX + env):
            given = kind(os.environ[ENV_PREFIX + env])
        values[name] = given if given is not None else kind(quick_default if quick else default)
    phases = tuple(p.strip() for p in (args.only or ",".join(PHASES)).split(",") if p.strip())
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}; known: {', '.join(PHASES)}")
    if args.no_info_logs or os.environ.get(f"{ENV_PREFIX}NO_INFO_LOGS"):
        phases = tuple(p for p in phases if p != "info")
    config = Config(
        rounds=values["rounds"],
        warmup_s=values["warmup"],
        duration_s=values["duration"],
        login_duration_s=values["login_duration"],
        read_connections=values["read_connections"],
        login_connections=values["login_connections"],
        probe_connections=values["probe_connections"],
        refresh_connections=values["refresh_connections"],
        wrk_threads=values["wrk_threads"],
        bcrypt_iterations=values["bcrypt_iterations"],
        server_cpu=values["server_cpu"],
        load_cpu=values["load_cpu"],
        pairs=values["pairs"],
        pair_duration_s=values["pair_duration"],
        phases=phases,
        quick=quick,
    )
    if not 1 <= config.rounds <= 20:
        parser.error("--rounds must be between 1 and 20")
    if not 1 <= config.pairs <= 100 or not 1 <= config.pair_duration_s <= 60:
        parser.error("--pairs must be between 1 and 100, --pair-duration between 1 and 60 s")
    if not 1 <= config.refresh_connections <= 64:
        parser.error("--refresh-connections must be between 1 and 64")
    if config.duration_s < 1 or config.login_duration_s < 1 or config.warmup_s < 0:
        parser.error("durations must be at least 1 s (warm-up at least 0 s)")
    if config.duration_s > 600 or config.login_duration_s > 600 or config.warmup_s > 120:
        parser.error("durations are bounded: at most 600 s measured, 120 s warm-up")
    return config


def check_cpus(config: Config) -> None:
    available = os.sched_getaffinity(0)
    if config.server_cpu == config.load_cpu:
        raise SystemExit("error: the server and the load generator need different CPUs")
    missing = {config.server_cpu, config.load_cpu} - available
    if missing:
        raise SystemExit(
            f"error: CPU {sorted(missing)} not available to this process (have {sorted(available)})"
        )


def _versions() -> dict[str, str]:
    names = [
        "fastapi", "starlette", "uvicorn", "uvloop", "httptools", "pydantic", "pyjwt",
        "cryptography", "bcrypt", "asyncpg", "sqlalchemy", "structlog", "dependency-injector",
    ]  # fmt: skip
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "-"
    return found


def _git() -> dict[str, str]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except OSError:
            return ""

    changed = run("status", "--porcelain", "--", "src")
    return {
        "commit": run("rev-parse", "--short", "HEAD"),
        "src_changes": str(len(changed.splitlines())),
    }


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def environment(wrk: str) -> dict[str, Any]:
    version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False, timeout=10)
    return {
        "python": platform.python_version(),
        "kernel": platform.release(),
        "cpu": _cpu_model(),
        "cpus_online": os.cpu_count(),
        "loadavg_start": os.getloadavg(),
        "wrk": (version.stdout or version.stderr).splitlines()[0] if version else "?",
        "packages": _versions(),
        "git": _git(),
    }
