"""Issue 17 item 4: how fast one ``gatehouse worker`` drains the mail outbox into an SMTP
server, and that nothing is sent twice.

    GATEHOUSE_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/outbox_drain.py [--mails 100000]

Only the scratch database ``gatehouse_bench_outbox`` is created, filled and dropped at the end.
``--mails`` queued mails (``password_changed``, rendered from its templates like any notice) are
COPYed into ``notifications_outbox``, then one ``gatehouse worker`` process (pinned to CPU 0;
this script, the SMTP sink and PostgreSQL's share on CPU 1 when the machine has two) sends them
to a local SMTP sink in this process (aiosmtpd, counting each mail's ``Message-ID``, which is
the outbox row's id). Printed: mails per second from the first mail received to the last, the
same from the worker's start, and the checks: every row ``sent``, every id received exactly
once. Redis: ``GATEHOUSE_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/15``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from aiosmtpd.controller import Controller

from bench.admin_scale import recreate, scratch
from bench.servers import ROOT, free_port, process_seconds
from gatehouse.main.cli import migrate
from gatehouse.main.settings import Settings

SCRATCH = "gatehouse_bench_outbox"
COLUMNS: tuple[str, ...] = ("id", "recipient", "template", "params", "locale", "status")
COLUMNS += ("attempts", "next_attempt_at", "created_at")
MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([0-9a-f-]{36})@", re.IGNORECASE | re.MULTILINE)


class Sink:
    """Counts each received mail's outbox id; keeps nothing else. At the first mail it notes
    the worker's CPU seconds so far (``worker_pid``): its start-up, left out of the figure a
    mail."""

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.first: float | None = None
        self.last: float | None = None
        self.worker_pid: int | None = None
        self.cpu_at_first: float | None = None
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        found = MESSAGE_ID.search(envelope.original_content or b"")
        with self._lock:
            self.received[found.group(1).decode() if found else "?"] += 1
            now = time.monotonic()
            if self.first is None and self.worker_pid is not None:
                self.cpu_at_first = process_seconds(self.worker_pid)
            self.first = self.first or now
            self.last = now
        return "250 OK"

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.received.values())


async def fill(dsn: str, mails: int) -> list[uuid.UUID]:
    now = datetime.now(UTC)
    params = json.dumps(
        {"name": "Bench", "when": "2026-12-05 10:00", "reset": "", "reset_link": ""}
    )
    ids = [uuid.uuid4() for _ in range(mails)]
    conn = await asyncpg.connect(dsn)
    try:
        records = [
            (i, f"drain{n}@example.com", "password_changed", params, "en", "pending", 0, now, now)
            for n, i in enumerate(ids)
        ]
        await conn.copy_records_to_table("notifications_outbox", records=records, columns=COLUMNS)
        await conn.execute("VACUUM ANALYZE notifications_outbox")
    finally:
        await conn.close()
    return ids


def worker(
    settings: Settings, smtp_url: str, cpu: int | None, concurrency: int | None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env |= {
        "GATEHOUSE_DATABASE_URL": str(settings.database_url),
        "GATEHOUSE_REDIS_URL": str(settings.redis_url),
        "GATEHOUSE_DATA_DIR": str(settings.data_dir),
        "GATEHOUSE_SMTP_URL": smtp_url,
        "GATEHOUSE_LOG_LEVEL": "warning",
    }
    if concurrency is not None:
        env["GATEHOUSE_OUTBOX_CONCURRENCY"] = str(concurrency)
    log = (settings.data_dir / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "gatehouse.main.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu})),  # noqa: PLW1509
    )


async def drain(
    settings: Settings, dsn: str, mails: int, limit_s: float, concurrency: int | None
) -> dict[str, Any]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    cpus = sorted(os.sched_getaffinity(0))
    split = len(cpus) >= 2
    if split:
        os.sched_setaffinity(0, set(cpus[1:]))
    url = f"smtp://127.0.0.1:{controller.port}"
    process = worker(settings, url, cpus[0] if split else None, concurrency)
    sink.worker_pid = process.pid
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        # Until every mail arrived and every row is marked sent (the worker marks a row after
        # the SMTP server took it: stopping it earlier would leave rows to send again).
        for _ in range(int(limit_s / 0.5)):
            if process.poll() is not None:
                msg = f"the worker exited with {process.returncode}; see {settings.data_dir}"
                raise RuntimeError(msg)
            sent = await conn.fetchval(
                "SELECT count(*) FROM notifications_outbox WHERE status = 'sent'"
            )
            if sink.total >= mails and sent >= mails:
                break
            await asyncio.sleep(0.5)
        done = time.monotonic()
        cpu_seconds = process_seconds(process.pid)  # the worker's, all its threads
        statuses = dict(
            await conn.fetch("SELECT status, count(*) FROM notifications_outbox GROUP BY status")
        )
    finally:
        await conn.close()
        process.terminate()
        process.wait(timeout=30)
        controller.stop()
    first, last = sink.first or done, sink.last or done
    return {
        "received": sink.total,
        "distinct": len(sink.received),
        "twice": sum(1 for count in sink.received.values() if count > 1),
        "statuses": statuses,
        "per_second_sending": sink.total / max(last - first, 1e-9),
        "per_second_from_start": sink.total / max(last - started, 1e-9),
        "seconds": last - started,
        "cpu_ms_per_mail": 1000 * cpu_seconds / max(sink.total, 1),
        # From the first mail on; the first mail's own CPU falls on the start-up's side.
        "cpu_ms_per_mail_sending": 1000
        * (cpu_seconds - (sink.cpu_at_first or 0.0))
        / max(sink.total - 1, 1),
        "pinned": split,
    }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mails", type=int, default=100_000)
    parser.add_argument("--limit", type=float, default=900, help="seconds to wait at most")
    parser.add_argument(
        "--concurrency", type=int, help="GATEHOUSE_OUTBOX_CONCURRENCY (default: the setting's)"
    )
    args = parser.parse_args(argv)
    database = scratch(SCRATCH)
    if database is None:
        return 1
    admin_dsn = database.admin_dsn
    data_dir = ROOT / "bench" / ".data" / "outbox"
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = database.settings(data_dir)
    await recreate(admin_dsn, SCRATCH)
    try:
        await asyncio.to_thread(migrate, settings)
        start = time.perf_counter()
        await fill(database.dsn, args.mails)
        print(f"queued {args.mails:,} mails in {time.perf_counter() - start:.1f} s (COPY)")
        dsn = database.dsn
        result = await drain(settings, dsn, args.mails, args.limit, args.concurrency)
    finally:
        await recreate(admin_dsn, SCRATCH, drop_only=True)
    print(
        f"one worker{' (pinned to its own CPU)' if result['pinned'] else ''}: "
        f"{result['received']:,} mails in {result['seconds']:.1f} s from its start; "
        f"{result['per_second_sending']:,.0f} mails/s while sending "
        f"({result['per_second_from_start']:,.0f}/s from the start; target >= 300); "
        f"worker CPU {result['cpu_ms_per_mail_sending']:.2f} ms a mail while sending "
        f"({result['cpu_ms_per_mail']:.2f} with its start-up)"
    )
    complete = result["statuses"] == {"sent": args.mails} and result["distinct"] == args.mails
    print(
        f"rows by status {result['statuses']}; distinct ids received {result['distinct']:,}; "
        f"received twice {result['twice']}: {'OK' if complete and not result['twice'] else 'FAIL'}"
    )
    return 0 if complete and not result["twice"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
