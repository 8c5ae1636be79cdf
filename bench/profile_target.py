"""Profile a Gatehouse target under the bench's load with py-spy: where does the time go?

    .venv/bin/python bench/profile_target.py live me    # scenarios: live me refresh login storm
    .venv/bin/python bench/profile_target.py --log-level info live

Same infrastructure, pinning and wrk load as ``bench/run.py``; py-spy samples the pinned server
(on the load CPU) while wrk runs, writes collapsed stacks to
``bench/results/profiles/<timestamp>-<scenario>.txt`` (load them into speedscope or
flamegraph.pl) and prints the top frames by own time and by total time. py-spy is a dev
dependency (``.venv/bin/py-spy``, the default); ``--py-spy`` points at another one.
Throughput under the profiler is lower than in ``run.py``: read the shares, not the rates.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fixtures
from bench.config import Config
from bench.core import DATA_DIR, RESULTS_DIR
from bench.loadgen import WrkJob, ensure_wrk
from bench.report import Report
from bench.run import Bench
from bench.servers import Server, running

SCENARIOS = ("live", "me", "refresh", "login", "storm")
# Leaf frames of threads that wait (idle executor and anyio workers): py-spy reports them as
# active, they are not CPU time.
IDLE_LEAVES = (
    "Condition.wait (threading.py",
    "_worker (concurrent/futures/thread.py",
    "Queue.get (queue.py",
    "Event.wait (threading.py",
)


def summarise(collapsed: Path, top: int) -> str:
    """Top frames by own samples and by inclusive samples, from py-spy's raw output."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(IDLE_LEAVES):
            continue
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    if not samples:
        return "(no samples)"

    packages: collections.Counter[str] = collections.Counter()
    for frame, n in own.items():
        packages[_package(frame)] += n

    def block(title: str, counter: collections.Counter[str]) -> list[str]:
        lines = [f"{title} ({samples} busy samples)"]
        lines += [f"  {n / samples:6.1%}  {frame}" for frame, n in counter.most_common(top)]
        return lines

    return "\n".join(
        [
            *block("own time by package", packages),
            "",
            *block("own time", own),
            "",
            *block("total time", total),
        ]
    )


def _package(frame: str) -> str:
    """``name (path/to/file.py:12)`` -> the top-level package, or the stdlib module."""
    location = frame.rpartition("(")[2].rstrip(") ")
    path = location.rpartition(":")[0]
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if head else "?"


def _profile(
    py_spy: str, server: Server, job: WrkJob, wrk: str, out: Path, rate: int
) -> subprocess.CompletedProcess[str]:
    spy = subprocess.Popen(
        [
            py_spy, "record", "--pid", str(server.pid), "--duration",
            str(round(job.duration_s)), "--rate", str(rate), "--format", "raw", "--function",
            "--output", str(out),
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    result = job.finish(job.start(wrk))
    output, _ = spy.communicate(timeout=job.duration_s + 60)
    print(
        f"  wrk under the profiler: {result.requests_per_second:,.1f} req/s, "
        f"p99 {result.p99_ms:.2f} ms, {result.errors} errors"
    )
    return subprocess.CompletedProcess(spy.args, spy.returncode, output)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/profile_target.py", description=__doc__)
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)}")
    beside = Path(sys.executable).with_name("py-spy")  # the dev dependency, in .venv/bin
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or str(beside))
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--log-level", default="warning", choices=["warning", "info"])
    args = parser.parse_args(argv)
    args.scenarios = args.scenarios or ["live", "me"]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if not Path(args.py_spy).is_file():
        print(f"py-spy not found at {args.py_spy}: see the module docstring", file=sys.stderr)
        return 2
    wrk = ensure_wrk()
    config = Config(
        rounds=1, warmup_s=2, duration_s=args.duration, login_duration_s=args.duration,
        read_connections=64, login_connections=16, probe_connections=2, refresh_connections=8,
        wrk_threads=1, bcrypt_iterations=0, server_cpu=0, load_cpu=1, pairs=1, pair_duration_s=1,
        phases=(), quick=False,
    )  # fmt: skip
    os.sched_setaffinity(0, {config.load_cpu})
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = RESULTS_DIR / "profiles"
    out_dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(config, wrk, Report(stamp, {}, {}))
    with fixtures.infrastructure(DATA_DIR) as infra:
        proxied = {"login", "storm", "refresh"} & set(args.scenarios)
        extra = {"trusted_proxies": "127.0.0.1"} if proxied else {}
        server_def = bench.gatehouse("gatehouse-profile", infra, log_level=args.log_level, **extra)
        with running(server_def) as server:
            user = fixtures.create_user(server.url(""), infra)
            for scenario in args.scenarios:
                print(f"{scenario}: profiling {args.duration:g} s", flush=True)
                storm: subprocess.Popen[str] | None = None
                if scenario == "live":
                    job = bench.read_job(server, "/health/live")
                elif scenario == "me":
                    job = bench.read_job(server, "/api/v1/me", fixtures.login(server.url(""), user))
                elif scenario == "refresh":  # as run.py: one fresh session per connection
                    base = server.url("")
                    job = bench.refresh_job(
                        server, fixtures.refresh_tokens(base, user, 8), args.duration
                    )
                    warm_tokens = fixtures.refresh_tokens(base, user, 8)
                elif scenario == "login":
                    job = bench.login_job(server, user, args.duration)
                else:  # storm: the probe is what we wait on; the profile shows the whole server
                    storm_job = bench.login_job(server, user, args.duration + 4)
                    storm = storm_job.start(wrk)
                    job = WrkJob(server.url("/health/live"), 2, args.duration)
                warm = dataclasses.replace(job, duration_s=2)
                if scenario == "refresh":
                    warm = bench.refresh_job(server, warm_tokens, 2)
                if storm is None:
                    warm.finish(warm.start(wrk))
                    server.wait_idle()
                out = out_dir / f"{stamp}-{scenario}-{args.log_level}.txt"
                spy = _profile(args.py_spy, server, job, wrk, out, args.rate)
                if storm is not None:
                    storm.kill()
                    storm.wait()
                server.wait_idle()
                if spy.returncode != 0 or not out.exists():
                    print(f"py-spy failed:\n{spy.stdout}", file=sys.stderr)
                    return 1
                print(summarise(out, args.top))
                print(f"  collapsed stacks: {out.relative_to(out_dir.parents[2])}\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
