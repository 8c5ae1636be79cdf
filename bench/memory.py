"""Issue 17 item 5: the resident memory (VmRSS) of one ``gatehouse serve`` process.

    GATEHOUSE_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \
    GATEHOUSE_BENCH_REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/python bench/memory.py [--runs 2] [--breakdown] [--against REF] [--python PY]

The method of docs/performance.md ("Memory"): ``python -m gatehouse.main.cli serve`` on the
configured PostgreSQL (the scratch database ``gatehouse_bench_memory``, created, migrated by
``serve`` itself, and dropped at the end) and Redis (nothing is flushed), so no embedded
server; mail dispatch in the process (the default), log level ``warning``, the rate limits
raised so a second run within the limits' windows still gets 200s. RSS is read once the server
answers ``/health/live`` (after start), then after a bounded load: 10 logins, 200
``GET /api/v1/me``, 50 refreshes (one rotation chain) and 100 ``GET /health/live``, every
answer a 200. Printed per run: VmRSS after start and after the load, and after the load the
anonymous and file-backed parts (``/proc/PID/smaps_rollup``).

``--against REF`` alternates: a run of the source tree at git ref ``REF`` (its ``src/``,
extracted to a temporary directory and put first on ``PYTHONPATH``), then one of the working
tree, ``--runs`` times each, so a change is measured before and after on the same machine state.
``--python`` serves from another environment's interpreter (one made with ``uv sync --no-dev``
holds what the image holds); ``--set GATEHOUSE_X=VALUE`` adds a setting.

``--breakdown`` runs one more server under tracemalloc (started before the first import, so the
RSS of that run is not comparable) and, after the same load, prints the modules in
``sys.modules`` and the memory still allocated from each module's own import (its code,
functions, classes and module-level objects, without the modules it imports in turn), both
grouped by top-level package, and the modules the load imported after the start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.admin_scale import recreate, scratch
from bench.fixtures import BenchUser, register_user, request_json
from bench.servers import ROOT, free_port, resident_mib

SCRATCH = "gatehouse_bench_memory"
LOGINS, ME, REFRESHES, LIVE = 10, 200, 50, 100

# Run as the server's main module with --breakdown: tracemalloc from the first import, and on
# each SIGUSR1 the breakdown written to BENCH_MEMORY_REPORT.<n> (n = 1, 2, ...).
TRACED = """
import tracemalloc
tracemalloc.start()
import collections, json, os, signal, sys
import _frozen_importlib as bootstrap

imported = collections.Counter()  # bytes still allocated from each module's own import
_nested = [0]
_load_unlocked = bootstrap._load_unlocked

def _metered(spec):
    before = tracemalloc.get_traced_memory()[0]
    _nested.append(0)
    try:
        return _load_unlocked(spec)
    finally:
        grown = tracemalloc.get_traced_memory()[0] - before
        imported[spec.name] += grown - _nested.pop()
        _nested[-1] += grown

bootstrap._load_unlocked = _metered

_reports = [0]

def _report(signum, frame):
    _reports[0] += 1
    modules = collections.Counter(name.split(".", 1)[0] for name in list(sys.modules))
    packages = collections.Counter()
    for name, size in imported.items():
        packages[name.split(".", 1)[0]] += size
    with open(f"{os.environ['BENCH_MEMORY_REPORT']}.{_reports[0]}", "w") as out:
        json.dump({
            "modules": modules,
            "imported": packages,
            "by_module": imported,
            "total": len(sys.modules),
            "traced": tracemalloc.get_traced_memory()[0],
            "names": sorted(sys.modules),
        }, out)

signal.signal(signal.SIGUSR1, _report)
from gatehouse.main.cli import main
sys.exit(main(["serve", *sys.argv[1:]]))
"""


def _mib(kib: str) -> float:
    return int(kib) / 1024


def smaps(pid: int) -> dict[str, float]:
    """The parts of the resident memory: anonymous (the heaps) and file-backed (code, shared)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        fields[name] = _mib(rest.split()[0])
    return {
        "rss": fields["Rss"],
        "anonymous": fields["Anonymous"],
        "file": fields["Rss"] - fields["Anonymous"],
    }


def start_server(
    settings_env: dict[str, str], port: int, traced: Path | None, python: str = sys.executable
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env.pop("PYTHONPATH", None)
    env |= settings_env
    command = [python, "-m", "gatehouse.main.cli", "serve"]
    if traced is not None:
        env["BENCH_MEMORY_REPORT"] = str(traced)
        command = [python, "-c", TRACED]
    log = (Path(settings_env["GATEHOUSE_DATA_DIR"]) / "serve.log").open("wb")
    return subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_live(base: str, process: Any, limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"gatehouse serve exited with {process.returncode}"
            raise RuntimeError(msg)
        try:
            if request_json(f"{base}/health/live")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    msg = "gatehouse serve did not answer /health/live in time"
    raise RuntimeError(msg)


def _ok(status: int, body: Any, what: str) -> Any:
    if status != 200:
        msg = f"{what} answered {status}: {body}"
        raise RuntimeError(msg)
    return body


def load(base: str, user: BenchUser) -> None:
    """10 logins, 200 GET /me, 50 refreshes, 100 GET /health/live: every answer a 200."""
    credentials = {"email": user.email, "password": user.password}
    pairs = [
        _ok(*request_json(f"{base}/api/v1/auth/login", credentials), "login") for _ in range(LOGINS)
    ]
    access, refresh = pairs[-1]["access_token"], pairs[-1]["refresh_token"]
    for _ in range(ME):
        _ok(*request_json(f"{base}/api/v1/me", token=access), "GET /me")
    for _ in range(REFRESHES):
        body = _ok(
            *request_json(f"{base}/api/v1/auth/refresh", {"refresh_token": refresh}), "refresh"
        )
        refresh = body["refresh_token"]
    for _ in range(LIVE):
        _ok(*request_json(f"{base}/health/live"), "GET /health/live")


def stop(process: Any) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def one_run(
    env: dict[str, str],
    dsn: str,
    traced: Path | None = None,
    python: str = sys.executable,
    source: Path | None = None,
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if source is not None:
        env = env | {"PYTHONPATH": str(source)}
    process = start_server(env, port, traced, python)
    try:
        wait_live(base, process)
        after_start = resident_mib(process.pid)
        started = _breakdown(base, process.pid, traced, 1) if traced is not None else None
        user = register_user(base, dsn, "memory")
        load(base, user)
        result: dict[str, Any] = {
            "after_start": after_start,
            "after_load": resident_mib(process.pid),
            **smaps(process.pid),
        }
        if traced is not None and started is not None:
            result["breakdown"] = _breakdown(base, process.pid, traced, 2)
            result["breakdown"]["loaded_by_the_load"] = sorted(
                set(result["breakdown"]["names"]) - set(started["names"])
            )
        return result
    finally:
        stop(process)


def _breakdown(base: str, pid: int, traced: Path, number: int) -> dict[str, Any]:
    """The traced server's report number ``number`` (see ``TRACED``)."""
    os.kill(pid, signal.SIGUSR1)
    report = traced.with_name(f"{traced.name}.{number}")
    for _ in range(100):
        request_json(f"{base}/health/live")  # let the loop run the Python handler
        if report.exists() and report.stat().st_size:
            break
        time.sleep(0.1)
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def extract(ref: str, into: Path) -> Path:
    """``src/`` of git ref ``ref``, written under ``into``; the directory to put on the path."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", ref, "src", "alembic.ini", "alembic"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


def print_breakdown(breakdown: dict[str, Any], top: int) -> None:
    modules: dict[str, int] = breakdown["modules"]
    imported: dict[str, int] = breakdown["imported"]
    print(f"\nsys.modules after the load: {breakdown['total']} modules")
    print(
        f"tracemalloc: {breakdown['traced'] / 2**20:.1f} MiB allocated after the load, of which "
        f"{sum(imported.values()) / 2**20:.1f} MiB while importing"
    )
    print(f"{'top-level package':28} {'modules':>8} {'import MiB':>11}")
    names = sorted(set(modules) | set(imported), key=lambda n: imported.get(n, 0), reverse=True)
    for name in names[:top]:
        print(f"{name:28} {modules.get(name, 0):8d} {imported.get(name, 0) / 2**20:11.2f}")
    loaded = breakdown["loaded_by_the_load"]
    print(f"imported during the load, after the start: {len(loaded)} modules")
    print("  " + ", ".join(loaded))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--breakdown", action="store_true", help="one more run, under tracemalloc")
    parser.add_argument("--top", type=int, default=30, help="packages shown in the breakdown")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GATEHOUSE_X=VALUE",
        help="a server setting on top of the method's, e.g. GATEHOUSE_DISPATCH_IN_SERVE=false",
    )
    parser.add_argument("--against", metavar="REF", help="alternate with src/ at this git ref")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter that runs gatehouse serve, e.g. that of an environment made with"
        " `uv sync --no-dev` (what the image holds: no development tools)",
    )
    args = parser.parse_args(argv)
    database = scratch(SCRATCH)
    if database is None:
        return 1
    data_dir = Path(tempfile.mkdtemp(prefix="gatehouse-memory-"))
    env = {
        "GATEHOUSE_DATABASE_URL": database.url,
        "GATEHOUSE_REDIS_URL": os.environ.get(
            "GATEHOUSE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"
        ),
        "GATEHOUSE_DATA_DIR": str(data_dir),
        "GATEHOUSE_LOG_LEVEL": "warning",
        "GATEHOUSE_RATE_LIMIT_LOGIN": "100000/minute",
        "GATEHOUSE_RATE_LIMIT_REGISTER": "100000/minute",
        "GATEHOUSE_RATE_LIMIT_REFRESH": "100000/minute",
    }
    env |= dict(item.split("=", 1) for item in args.set)
    sources: list[tuple[str, Path | None]] = [("working tree", None)]
    if args.against:
        sources.insert(0, (args.against, extract(args.against, data_dir / "against")))
    asyncio.run(recreate(database.admin_dsn, SCRATCH))
    try:
        for run in range(1, args.runs + 1):
            for name, source in sources:
                result = one_run(env, database.dsn, python=args.python, source=source)
                print(
                    f"run {run}, {name}: RSS after start {result['after_start']:.1f} MiB, after "
                    f"the load {result['after_load']:.1f} MiB (anonymous "
                    f"{result['anonymous']:.1f}, file-backed {result['file']:.1f})",
                    flush=True,
                )
        if args.breakdown:
            result = one_run(
                env, database.dsn, traced=data_dir / "breakdown.json", python=args.python
            )
            print(f"traced run: RSS after the load {result['after_load']:.1f} MiB (not comparable)")
            print_breakdown(result["breakdown"], args.top)
            print(f"every module's name: {data_dir / 'breakdown.json.2'}")
    finally:
        asyncio.run(recreate(database.admin_dsn, SCRATCH, drop_only=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
