"""Instructions a request, counted by callgrind: a cost figure that a busy machine does not move.

    GATEHOUSE_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/instructions.py me refresh live

For each scenario the app is built in-process (``create_app`` with the defaults, the request
log at ``info``, on a scratch database and the bench's Redis) and driven through ASGI, with no
socket between the client and the app, under ``valgrind --tool=callgrind``. Instrumentation is
switched on (``callgrind_control -i on``) only around the measured loop, and the loop runs
twice, ``--requests`` small and large: the difference of the two totals divided by the
difference of the counts is the user-space instructions of one request, start-up and
switching excluded. PostgreSQL and Redis run in their own processes and are not counted; the
system calls the app makes are counted as their user-space side only. The same code gives the
same count (about ±0.5 %) whatever else the machine runs: use it to compare two versions of
the hot path, and ``run.py`` for what a served request costs.

Needs valgrind (Debian's package). Scenarios: ``live`` (``GET /health/live``), ``me``
(``GET /api/v1/me``, one access token reused, as a client does), ``refresh`` (``POST
/api/v1/auth/refresh``, each answer's token sent next).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvloop

from bench.admin_scale import recreate, scratch
from bench.fixtures import mark_verified
from gatehouse.main.app import create_app
from gatehouse.main.cli import migrate
from gatehouse.main.logging import configure_logging

SCRATCH = "gatehouse_bench_instructions"
SCENARIOS = ("live", "me", "refresh")
PASSWORD = "Bench-instructions-9-battery"
INNER = "BENCH_INSTRUCTIONS_INNER"  # set in the process callgrind runs


def _switch(state: str) -> None:
    """callgrind's instrumentation on or off for this process (a no-op outside callgrind)."""
    if not os.environ.get(INNER):
        return
    control = subprocess.Popen(
        ["callgrind_control", "-i", state, str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while control.poll() is None:  # keep running: valgrind serves the request between blocks
        sum(range(1000))


async def _drive(scenario: str, requests: int, data_dir: Path) -> float:
    """Build the app, sign a user in, run ``requests`` of ``scenario``: CPU seconds of them."""
    database = scratch(SCRATCH)
    assert database is not None
    settings = database.settings(
        data_dir,
        rate_limit_login="1000/minute",
        rate_limit_refresh="1000000/minute",
    )
    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    body = b""
    last: list[bytes] = [b""]
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif not message.get("more_body"):
            last[0] = message.get("body", b"")

    def scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        return {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"bench"), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        email = f"instructions-{os.getpid()}@example.com"
        registered = await client.post(
            "/api/v1/auth/register",
            json={"email": email, "password": PASSWORD, "display_name": "Bench"},
        )
        if registered.status_code != 202:
            msg = f"register answered {registered.status_code}: {registered.text}"
            raise RuntimeError(msg)
        await mark_verified(database.dsn, email)
        pair = (
            await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        ).json()
        access, refresh = pair["access_token"], pair["refresh_token"]
        for _ in range(50):  # warm: routes, pools, caches
            await app(scope("GET", "/health/live", []), receive, send)
        _switch("on")
        started = time.process_time()
        for _ in range(requests):
            if scenario == "live":
                await app(scope("GET", "/health/live", []), receive, send)
            elif scenario == "me":
                bearer = (b"authorization", b"Bearer " + access.encode())
                await app(scope("GET", "/api/v1/me", [bearer]), receive, send)
            else:
                body = json.dumps({"refresh_token": refresh}).encode()
                headers = [(b"content-type", b"application/json")]
                await app(scope("POST", "/api/v1/auth/refresh", headers), receive, send)
                refresh = json.loads(last[0])["refresh_token"]
        spent = time.process_time() - started
        _switch("off")
    if set(statuses[-requests:]) != {200}:
        msg = f"{scenario}: answers {sorted(set(statuses[-requests:]))}, not all 200"
        raise RuntimeError(msg)
    return spent


def _inner(scenario: str, requests: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        spent = uvloop.run(_drive(scenario, requests, Path(data_dir)))
    print(json.dumps({"cpu_us_per_request": spent / requests * 1e6}))


def _collected(scenario: str, requests: int) -> int:
    """callgrind's instruction total for one inner run of ``requests``."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--inner",
        scenario,
        str(requests),
    ]
    run = subprocess.run(
        command, env=os.environ | {INNER: "1"}, capture_output=True, text=True, check=False
    )
    for line in run.stderr.splitlines():
        if "Collected :" in line and run.returncode == 0:
            return int(line.rsplit(":", 1)[1])
    msg = f"callgrind counted nothing for {scenario} ({run.returncode}): {run.stderr[-2000:]}"
    raise RuntimeError(msg)


async def _prepare() -> None:
    database = scratch(SCRATCH)
    if database is None:
        raise SystemExit(2)
    await recreate(database.admin_dsn, SCRATCH)
    with tempfile.TemporaryDirectory() as data_dir:
        await asyncio.to_thread(migrate, database.settings(Path(data_dir)))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--inner"]:  # the run under callgrind: --inner SCENARIO REQUESTS
        _inner(argv[1], int(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS), choices=SCENARIOS)
    parser.add_argument(
        "--requests", default="100,400", help="the two loop sizes (default 100,400)"
    )
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    small, large = (int(n) for n in args.requests.split(","))
    asyncio.run(_prepare())
    try:
        for scenario in args.scenarios:
            low, high = _collected(scenario, small), _collected(scenario, large)
            per_request = (high - low) / (large - small)
            print(f"{scenario:8} {per_request:12,.0f} instructions a request ({low:,} / {high:,})")
    finally:
        database = scratch(SCRATCH)
        assert database is not None
        asyncio.run(recreate(database.admin_dsn, SCRATCH, drop_only=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
