"""``make bench``: Gatehouse side by side with bare FastAPI, one pinned core each way.

See ``bench/README.md``. Exit status 0 whenever the run completes, targets met or not; 1 when
the bench itself could not run; 2 when wrk is missing. ``--outbox [N]`` and ``--scale`` run the
two long measurements instead (``bench/modes.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

if __package__ in {None, ""}:  # run as a script: make the ``bench`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fixtures, loadgen, peer_env
from bench.config import check_cpus, environment, parse_args
from bench.core import DATA_DIR, RESULTS_DIR, BenchCore
from bench.loadgen import WrkJob, ensure_wrk
from bench.modes import run_mode
from bench.report import LOAD_SATURATED, NOISY_OTHER_CPU, BcryptRate, Report
from bench.servers import ROOT, Server, allowed_cpus, running
from gatehouse.main.settings import Settings

A = "(a) bare FastAPI"
B = "(b) bare JWT + asyncpg"
C = "(c) Gatehouse"
C_INFO = "(c) Gatehouse, log info"
C_NOREV = "(c) Gatehouse, no revocation check"
D = "(d) bare refresh + asyncpg"
P = "(p) fastapi-users"
DEFAULT_LOGIN_LIMIT = str(Settings.model_fields["rate_limit_login"].default)
DEFAULT_REFRESH_LIMIT = str(Settings.model_fields["rate_limit_refresh"].default)
# The instances whose wrk scripts send each request from a random X-Forwarded-For address, so
# the contract's per-IP limits (kept at their defaults there) see many clients, not one.
PROXY = "127.0.0.1"


@dataclasses.dataclass(frozen=True, slots=True)
class ReadTarget:
    key: str
    target: str
    server: Server
    path: str
    token: Callable[[], str] | None = None
    user: fixtures.BenchUser | None = None  # Gatehouse: a fresh access token per measurement

    def bearer(self) -> str | None:
        if self.user is not None:
            return fixtures.login(self.server.url(""), self.user)
        return self.token() if self.token is not None else None


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshTarget:
    """POST /api/v1/auth/refresh: each wrk connection chains one fresh session's rotations, on
    an instance behind a trusted proxy, each request from its own address (``refresh.lua``).
    ``sessions``: the Gatehouse instance whose logins start the chains (the same database)."""

    key: str
    target: str
    server: Server
    user: fixtures.BenchUser
    sessions: Server


class Bench(BenchCore):
    """The phases of a run: the interleaved rounds, the revocation pairs, login and the storm."""

    def storm(self, server: Server, user: fixtures.BenchUser) -> None:
        """Hammer login and, once the hashing queue is full, measure /health/live beside it."""
        config = self.config
        probe = WrkJob(
            url=server.url("/health/live"),
            connections=config.probe_connections,
            duration_s=config.duration_s,
            threads=1,
        )
        storm = self.login_job(server, user, config.warmup_s + config.duration_s + 2)
        storm_process = storm.start(self.wrk)
        try:
            time.sleep(max(config.warmup_s, 1.0))
            before = server.sample(self.config.load_cpu)
            probe_process = probe.start(self.wrk)
            load_cpus = allowed_cpus(probe_process.pid)
            probe_result = probe.finish(probe_process)
            usage = Server.usage(before, server.sample(self.config.load_cpu))
            storm_result = storm.finish(storm_process)
        finally:
            if storm_process.poll() is None:
                storm_process.kill()
                storm_process.wait()
        self._record(
            "c.storm.live", C, "GET /health/live  (during storm)", probe, server, probe_result,
            usage, load_cpus,
        )  # fmt: skip
        self._record(
            "c.storm.login", C, "POST /auth/login  (the storm)", storm, server, storm_result,
            usage, load_cpus,  # the CPU figures are the probe window's; the storm ran throughout
        )  # fmt: skip
        server.wait_idle()

    def bcrypt_rate(self) -> None:
        command = [
            sys.executable, "-m", "bench.bcrypt_rate", "--cpu", str(self.config.server_cpu),
            "--iterations", str(self.config.bcrypt_iterations),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=600,
            env={**os.environ, "PYTHONPATH": str(ROOT)},  # the bcrypt module needs no src
        )  # fmt: skip
        rate = BcryptRate(**json.loads(done.stdout))
        self.report.bcrypt.append(rate)
        print(
            f"  {'bcrypt.raw':<14} {rate.verifies_per_second:>10.2f} verifies/s"
            f"  ({rate.iterations} in {rate.seconds:.1f} s, CPU share {rate.cpu_share:.0%})",
            flush=True,
        )

    # ------------------------------------------------------------ the run

    def run(self, infra: fixtures.Infrastructure) -> None:
        phases = self.config.phases
        with contextlib.ExitStack() as stack:
            print("starting the read targets (all pinned, idle while another is measured)")
            gatehouse = stack.enter_context(
                running(self.gatehouse("gatehouse", infra, log_level="warning"))
            )
            user = fixtures.create_user(gatehouse.url(""), infra)
            targets: list[ReadTarget | RefreshTarget] = []
            if "bare-json" in phases:
                bare = stack.enter_context(
                    running(self.server("bare-json", "bench.targets.bare_json", dict(os.environ)))
                )
                targets.append(ReadTarget("a.live", A, bare, "/health/live"))
            if "gatehouse" in phases:
                targets.append(ReadTarget("c.live", C, gatehouse, "/health/live"))
            if "info" in phases:
                info = stack.enter_context(
                    running(self.gatehouse("gatehouse-info", infra, log_level="info"))
                )
                targets.append(ReadTarget("c.info.live", C_INFO, info, "/health/live"))
            keys = fixtures.FloorKeys.generate()
            if "bare-read" in phases:
                floor = stack.enter_context(running(self.floor_server(infra, keys, "bare-read")))
                token = keys.token(user.user_id)
                targets.append(ReadTarget("b.me", B, floor, "/api/v1/me", lambda: token))
            if "gatehouse" in phases:
                targets.append(ReadTarget("c.me", C, gatehouse, "/api/v1/me", user=user))
            peer_server = self.peer("fastapi-users", infra) if "peers" in phases else None
            if peer_server is not None:
                peer = stack.enter_context(running(peer_server))
                peer_env.register(peer.url(""), user)
                targets.append(ReadTarget("p.live", P, peer, "/health/live"))
                peer_token = functools.partial(peer_env.login, peer.url(""), user)
                targets.append(ReadTarget("p.me", P, peer, "/users/me", peer_token))
            norev = None
            if "no-revocation" in phases:
                norev_server = self.gatehouse_no_revocation_check(
                    "gatehouse-norev", infra, log_level="warning"
                )
                norev = stack.enter_context(running(norev_server))
                fixtures.check_revocation_skipped(gatehouse.url(""), norev.url(""), user)
            if "info" in phases:
                targets.append(ReadTarget("c.info.me", C_INFO, info, "/api/v1/me", user=user))
            if "refresh" in phases:
                refresh_server = self.gatehouse(
                    "gatehouse-refresh",
                    infra,
                    log_level="warning",
                    trusted_proxies=PROXY,
                    rate_limit_refresh=DEFAULT_REFRESH_LIMIT,
                )
                refreshing = stack.enter_context(running(refresh_server))
                targets.append(RefreshTarget("c.refresh", C, refreshing, user, refreshing))
                if "bare-refresh" in phases:
                    floor_refresh = stack.enter_context(
                        running(self.floor_server(infra, keys, "bare-refresh"))
                    )
                    targets.append(RefreshTarget("d.refresh", D, floor_refresh, user, refreshing))
            for number in range(1, self.config.rounds + 1):
                if targets:
                    print(f"read targets, round {number} of {self.config.rounds}", flush=True)
                # Every other round in reverse order: each pair compared within a round (c.me
                # and c.norev.me side by side) goes first as often as second, so a machine
                # getting slower or faster over the run does not favour one side.
                for target in targets if number % 2 else reversed(targets):
                    if isinstance(target, RefreshTarget):
                        self.refresh(target, number)
                    else:
                        self.read(target, number)
            if norev is not None:
                self.revocation_pairs(
                    ReadTarget("c.me.pair", C, gatehouse, "/api/v1/me", user=user),
                    ReadTarget("c.norev.me", C_NOREV, norev, "/api/v1/me", user=user),
                )
        if "login" in phases:
            self.login_phase(infra, user)

    def read(self, target: ReadTarget, number: int) -> None:
        server = target.server
        token = target.bearer()
        fixtures.check_get(server.url(target.path), token=token)
        job = self.read_job(server, target.path, token)
        self.measure(target.key, target.target, f"GET {target.path}", server, job, number)

    def revocation_pairs(self, checked: ReadTarget, unchecked: ReadTarget) -> None:
        """/me with and without the revocation check, alternating in short runs many times.

        On a shared machine, throughput drifts by tens of per cent within a minute; a 15 %
        budget needs each pair measured seconds apart, and many pairs (the median of their
        ratios is the figure). Each side goes first in every other pair.
        """
        config = self.config
        print(f"revocation check: {config.pairs} pairs of {config.pair_duration_s:g} s", flush=True)
        tokens = {target.key: target.bearer() for target in (checked, unchecked)}
        for number in range(1, config.pairs + 1):
            order = (checked, unchecked) if number % 2 else (unchecked, checked)
            for target in order:
                token = tokens[target.key]
                fixtures.check_get(target.server.url(target.path), token=token)
                job = dataclasses.replace(
                    self.read_job(target.server, target.path, token),
                    duration_s=config.pair_duration_s,
                )
                request = f"GET {target.path}"
                self.measure(
                    target.key, target.target, request, target.server, job, number,
                    warmup_s=min(config.warmup_s, 1.0),
                )  # fmt: skip

    def refresh(self, target: RefreshTarget, number: int) -> None:
        """Fresh sessions for the warm-up and for the measured run (a rotated token is dead)."""
        server, count = target.server, self.config.refresh_connections
        sessions = target.sessions.url("")
        fixtures.check_refresh(sessions, server.url(""), target.user)
        measured = self.refresh_job(
            server, fixtures.refresh_tokens(sessions, target.user, count), self.config.duration_s
        )
        warm = None
        if self.config.warmup_s > 0:
            tokens = fixtures.refresh_tokens(sessions, target.user, count)
            warm = self.refresh_job(server, tokens, self.config.warmup_s)
        target.sessions.wait_idle()
        server.wait_idle()
        request = "POST /api/v1/auth/refresh"
        self.measure(target.key, target.target, request, server, measured, number, warm)

    def login_phase(self, infra: fixtures.Infrastructure, user: fixtures.BenchUser) -> None:
        print(f"{C}: POST /api/v1/auth/login, bcrypt cost 12; the login storm", flush=True)
        self.bcrypt_rate()
        login_server = self.gatehouse(
            "gatehouse-login",
            infra,
            log_level="warning",
            trusted_proxies=PROXY,
            rate_limit_login=DEFAULT_LOGIN_LIMIT,
        )
        with running(login_server) as server:
            fixtures.login(server.url(""), user)
            job = self.login_job(server, user, self.config.login_duration_s)
            self.measure("c.login", C, "POST /api/v1/auth/login", server, job)
            self.storm(server, user)
        peer_server = (
            self.peer("fastapi-users-login", infra) if "peers" in self.config.phases else None
        )
        if peer_server is not None:
            with running(peer_server) as peer:
                peer_env.register(peer.url(""), user)  # unless the read phase did
                peer_env.login(peer.url(""), user)
                job = self.login_job(peer, user, self.config.login_duration_s, peer=True)
                self.measure("p.login", P, "POST /auth/jwt/login", peer, job)
        self.bcrypt_rate()


class Interrupted(BaseException):
    """SIGTERM / SIGHUP: unwind through every ``with running(...)`` like Ctrl-C does."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, _: FrameType | None) -> None:
    raise Interrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    mode = run_mode(sys.argv[1:] if argv is None else argv)  # --outbox [N], --scale
    if mode is not None:
        return mode
    config = parse_args(argv, __doc__)
    wrk = ensure_wrk()
    check_cpus(config)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    # The runner, wrk (inherits this), and embedded PostgreSQL/Redis (started below) share the
    # load CPU; each server pins itself to the server CPU, alone.
    os.sched_setaffinity(0, {config.load_cpu})
    started = datetime.now(UTC)
    report = Report(
        started_at=started.isoformat(timespec="seconds"),
        environment=environment(wrk),
        config=dataclasses.asdict(config),
    )
    print(
        f"bench: servers on CPU {config.server_cpu}, wrk on CPU {config.load_cpu}; "
        f"warm-up {config.warmup_s:g} s, {config.duration_s:g} s per read target, "
        f"{config.login_duration_s:g} s for login{' (quick)' if config.quick else ''}",
        flush=True,
    )
    try:
        with fixtures.infrastructure(DATA_DIR) as infra:
            report.environment["infrastructure"] = infra.describe()
            Bench(config, wrk, report).run(infra)
    except (KeyboardInterrupt, Interrupted) as stop:
        loadgen.stop_all()
        print("\ninterrupted; servers and load generators stopped", file=sys.stderr)
        return 128 + (stop.signum if isinstance(stop, Interrupted) else signal.SIGINT)
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        loadgen.stop_all()
        print(f"\nbench failed: {error}", file=sys.stderr)
        return 1
    report.environment["loadavg_end"] = os.getloadavg()
    noisy = sorted({m.key for m in report.measurements if m.usage.other > NOISY_OTHER_CPU})
    if noisy:
        report.notes.append(
            f"other processes used more than {NOISY_OTHER_CPU:.0%} of CPU {config.server_cpu} "
            f"in some round of {', '.join(noisy)}: req/s there is low (req/CPU-s less so); "
            "rerun on a quiet machine if it matters"
        )
    saturated = sorted({m.key for m in report.measurements if m.usage.load > LOAD_SATURATED})
    if saturated:
        report.notes.append(
            f"the load CPU {config.load_cpu} was over {LOAD_SATURATED:.0%} busy during "
            f"{', '.join(saturated)}: wrk (or PostgreSQL beside it) may have been the limit"
        )
    report.evaluate()
    path = RESULTS_DIR / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    report.write(path)
    print()
    print(report.render())
    print(f"\nresults: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
