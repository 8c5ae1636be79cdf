"""``gatehouse serve --workers N``: N server processes on one socket, each able to answer alone,
each with its share of the CPUs for password hashing."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.support.processes import gatehouse_process

pytestmark = pytest.mark.xdist_group("cli")


def _workers(parent: int) -> list[int]:
    """The parent's children that uvicorn's supervisor started as workers (multiprocessing's
    spawned interpreters; its resource tracker, if any, is not one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {key.decode(): value.decode(errors="replace") for key, _, value in pairs}


@contextlib.contextmanager
def _stopped(pid: int) -> Iterator[None]:
    """The process frozen (SIGSTOP) for the block: the others must answer. Kept short: the
    supervisor replaces a worker that misses its health checks for 5 s."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _answers(base: str) -> list[int]:
    """Five requests, each on a new connection (any worker may accept it)."""
    return [httpx.get(f"{base}/health/live", timeout=5.0).status_code for _ in range(5)]


def test_serve_with_two_workers_runs_two_processes_each_of_which_answers(
    settings: Settings, tmp_path: Path
) -> None:
    serving = gatehouse_process(
        settings,
        tmp_path,
        "workers",
        "serve",
        args=("--workers", "2"),
        GATEHOUSE_HASH_CONCURRENCY="0",
    )
    with serving as serve:
        base, process = serve.base, serve.process
        workers = _workers(process.pid)
        assert len(workers) == 2, workers
        share = str(max(1, len(os.sched_getaffinity(process.pid)) // 2))
        for pid in workers:
            assert _environment(pid)["GATEHOUSE_HASH_CONCURRENCY"] == share
        for frozen in workers:
            with _stopped(frozen):
                assert _answers(base) == [200] * 5, f"with worker {frozen} stopped"
        assert _workers(process.pid) == workers  # none was replaced meanwhile
    assert process.returncode == 0
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived serve"
    assert "Traceback" not in (tmp_path / "workers.log").read_text()
