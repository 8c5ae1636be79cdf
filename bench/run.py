"""``make bench``: Gatehouse side by side with bare FastAPI, one pinned core each way.

See ``bench/README.md``. Exit status 0 whenever the run completes, targets met or not; 1 when
the bench itself could not run; 2 when wrk is missing.
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
from bench.config import Config, check_cpus, environment, parse_args
from bench.loadgen import WrkJob, WrkResult, ensure_wrk
from bench.report import LOAD_SATURATED, NOISY_OTHER_CPU, BcryptRate, Measurement, Report
from bench.servers import ROOT, CpuUsage, Server, allowed_cpus, running
from gatehouse.main.settings import Settings

BENCH_DIR = ROOT / "bench"
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"

A = "(a) bare FastAPI"
B = "(b) bare JWT + asyncpg"
C = "(c) Gatehouse"
C_INFO = "(c) Gatehouse, log info"
C_NOREV = "(c) Gatehouse, no revocation check"
D = "(d) bare refresh + asyncpg"
P = "(p) fastapi-users"
DEFAULT_LOGIN_LIMIT = str(Settings.model_fields["rate_limit_login"].default)
DEFAULT_REFRESH_LIMIT = str(Settings.model_fields["rate_limit_refresh"].default)
SETUP_LOGIN_LIMIT = "100000/minute"
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


class Bench:
    def __init__(self, config: Config, wrk: str, report: Report) -> None:
        self.config = config
        self.wrk = wrk
        self.report = report
        self.logs = DATA_DIR / "logs"
        self._peer_python: Path | None = None

    # ------------------------------------------------------------ plumbing

    def server(self, name: str, module: str, env: dict[str, str], *, quiet: bool = False) -> Server:
        """``quiet``: standard output to /dev/null (request logs), else to the server's log."""
        return Server(
            name, module, cpu=self.config.server_cpu, env=env, log_dir=self.logs, quiet=quiet
        )

    def gatehouse(self, name: str, infra: fixtures.Infrastructure, **settings: str) -> Server:
        return self._gatehouse(name, infra, settings, no_revocation_check=False)

    def gatehouse_no_revocation_check(
        self, name: str, infra: fixtures.Infrastructure, **settings: str
    ) -> Server:
        """The same app with ``auth.revocations`` overridden by ``NoRevocations``."""
        return self._gatehouse(name, infra, settings, no_revocation_check=True)

    def _gatehouse(
        self,
        name: str,
        infra: fixtures.Infrastructure,
        settings: dict[str, str],
        *,
        no_revocation_check: bool,
    ) -> Server:
        # Only the bench's own GATEHOUSE_* settings: a developer's shell must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        env["BENCH_NO_REVOCATION_CHECK"] = "1" if no_revocation_check else "0"
        env |= {
            "GATEHOUSE_DATABASE_URL": infra.database_url,
            "GATEHOUSE_REDIS_URL": infra.redis_url,
            "GATEHOUSE_DATA_DIR": str(DATA_DIR / "gatehouse"),
        }
        # The bench signs in from one address to get its tokens, more often than the login limit
        # allows; no request measured on these instances passes that limit. The login instance
        # keeps the default (its wrk script sends each login from its own address).
        settings = {"rate_limit_login": SETUP_LOGIN_LIMIT, **settings}
        env |= {f"GATEHOUSE_{key.upper()}": value for key, value in settings.items()}
        quiet = settings.get("log_level") in {"debug", "info"}
        return self.server(name, "bench.targets.gatehouse_app", env, quiet=quiet)

    def peer(self, name: str, infra: fixtures.Infrastructure) -> Server | None:
        """fastapi-users' documented app (``bench/peers/``), in the peers' own environment;
        None (and a note) when that environment cannot be made."""
        if self._peer_python is None:
            python, how = peer_env.ensure_peers_venv()
            print(f"peers' environment ({peer_env.VENV.relative_to(ROOT)}): {how}", flush=True)
            if python is None:
                self.report.notes.append(f"fastapi-users not measured: {how}")
                self.config = dataclasses.replace(
                    self.config, phases=tuple(p for p in self.config.phases if p != "peers")
                )
                return None
            self._peer_python = python
        return Server(
            name,
            "bench.peers.fastapi_users_app",
            cpu=self.config.server_cpu,
            env=peer_env.peer_environment(infra),
            log_dir=self.logs,
            python=str(self._peer_python),
        )

    def read_job(self, server: Server, path: str, token: str | None = None) -> WrkJob:
        return WrkJob(
            url=server.url(path),
            connections=self.config.read_connections,
            duration_s=self.config.duration_s,
            threads=self.config.wrk_threads,
            script="bearer.lua" if token else None,
            env=(("BENCH_TOKEN", token),) if token else (),
        )

    def refresh_job(self, server: Server, tokens: Sequence[str], duration: float) -> WrkJob:
        return WrkJob(
            url=server.url("/api/v1/auth/refresh"),
            connections=len(tokens),
            duration_s=duration,
            threads=len(tokens),  # one connection per thread: each chains its own session
            script="refresh.lua",
            env=(("BENCH_REFRESH_TOKENS", " ".join(tokens)),),
        )

    def login_job(
        self, server: Server, user: fixtures.BenchUser, duration: float, *, peer: bool = False
    ) -> WrkJob:
        """``peer``: fastapi-users' form login (``/auth/jwt/login``)."""
        return WrkJob(
            url=server.url("/auth/jwt/login" if peer else "/api/v1/auth/login"),
            connections=self.config.login_connections,
            duration_s=duration,
            threads=self.config.wrk_threads,
            timeout_s=60.0,  # 16 queued logins at ~4/s wait about 4 s each
            script="login.lua",
            env=(
                ("BENCH_EMAIL", user.email),
                ("BENCH_PASSWORD", user.password),
                ("BENCH_FORM", "1" if peer else "0"),
            ),
        )

    def _record(
        self, key: str, target: str, request: str, job: WrkJob, server: Server, result: WrkResult,
        usage: CpuUsage, load_cpus: str, number: int = 1,
    ) -> Measurement:  # fmt: skip
        measurement = Measurement(
            key=key,
            target=target,
            request=request,
            connections=job.connections,
            duration_s=job.duration_s,
            result=result,
            usage=usage,
            server_cpus=allowed_cpus(server.pid),
            load_cpus=load_cpus,
            round=number,
        )
        self.report.measurements.append(measurement)
        flag = "" if measurement.valid else f"  [{result.errors} errors]"
        print(
            f"  {key:<14} {result.requests_per_second:>10,.1f} req/s  p50 {result.p50_ms:8.2f} ms"
            f"  p99 {result.p99_ms:8.2f} ms  server CPU {usage.server:4.0%}"
            f"  other {usage.other:4.0%}  load CPU {usage.load:4.0%}{flag}",
            flush=True,
        )
        return measurement

    def measure(
        self, key: str, target: str, request: str, server: Server, job: WrkJob, number: int = 1,
        warm: WrkJob | None = None, warmup_s: float | None = None,
    ) -> None:  # fmt: skip
        """``warm``: the warm-up's job, when it cannot be the measured one's (refresh tokens);
        ``warmup_s``: instead of the configured warm-up."""
        warmup_s = self.config.warmup_s if warmup_s is None else warmup_s
        if warmup_s > 0:
            warm = dataclasses.replace(warm or job, duration_s=warmup_s)
            warm.finish(warm.start(self.wrk))
            server.wait_idle()
        before = server.sample(self.config.load_cpu)
        process = job.start(self.wrk)
        load_cpus = allowed_cpus(process.pid)
        result = job.finish(process)
        usage = Server.usage(before, server.sample(self.config.load_cpu))
        server.wait_idle()
        self._record(key, target, request, job, server, result, usage, load_cpus, number)

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

    def floor_server(
        self, infra: fixtures.Infrastructure, keys: fixtures.FloorKeys, name: str
    ) -> Server:
        """Target (b) (``bare-read``) or (d) (``bare-refresh``), with Gatehouse's defaults."""
        defaults = Settings.model_fields
        env = dict(os.environ) | {
            "BENCH_PG_DSN": infra.asyncpg_dsn,
            "BENCH_PG_POOL_SIZE": str(defaults["db_pool_size"].default),
            "BENCH_JWT_PUBLIC_KEY": keys.public_pem(),
            "BENCH_JWT_PRIVATE_KEY": keys.private_pem(),
            "BENCH_JWT_ISSUER": keys.issuer,
            "BENCH_JWT_AUDIENCE": keys.audience,
            "BENCH_ACCESS_TTL": str(defaults["access_token_ttl_seconds"].default),
            "BENCH_IDLE_TTL": str(defaults["refresh_idle_ttl_seconds"].default),
        }
        return self.server(name, f"bench.targets.{name.replace('-', '_')}", env)


class Interrupted(BaseException):
    """SIGTERM / SIGHUP: unwind through every ``with running(...)`` like Ctrl-C does."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, _: FrameType | None) -> None:
    raise Interrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
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
