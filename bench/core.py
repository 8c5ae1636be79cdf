"""What every phase of the bench uses: where its files go, how the targets are started, the wrk
jobs, and how a measurement is taken and recorded."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from bench import fixtures, peer_env
from bench.config import Config
from bench.loadgen import WrkJob, WrkResult
from bench.report import Measurement, Report
from bench.servers import ROOT, CpuUsage, Server, allowed_cpus, resident_mib
from gatehouse.main.settings import Settings

BENCH_DIR = ROOT / "bench"
DATA_DIR = BENCH_DIR / ".data"
RESULTS_DIR = BENCH_DIR / "results"
# The bench registers a user and signs in from one address, in every run, more often than the
# login and register limits allow (register's window is an hour, and the bench's Redis keeps it
# between runs); no request measured passes through either limit on these instances.
SETUP_LIMITS = {"rate_limit_login": "100000/minute", "rate_limit_register": "100000/minute"}


class BenchCore:
    """Starting the targets, building wrk jobs, measuring and recording: what every phase of
    ``Bench`` (``run.py``) uses."""

    def __init__(self, config: Config, wrk: str, report: Report) -> None:
        self.config = config
        self.wrk = wrk
        self.report = report
        self.logs = DATA_DIR / "logs"
        self._peer_python: Path | None = None

    # ------------------------------------------------------------ plumbing

    def server(self, name: str, module: str, env: dict[str, str]) -> Server:
        """Its standard output and error, request lines included, go to the server's log file,
        written as a container runtime's pipe would be."""
        return Server(name, module, cpu=self.config.server_cpu, env=env, log_dir=self.logs)

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
        # SETUP_LIMITS; the login instance keeps the default login limit (its wrk script sends
        # each login from its own address).
        settings = {**SETUP_LIMITS, **settings}
        env |= {f"GATEHOUSE_{key.upper()}": value for key, value in settings.items()}
        return self.server(name, "bench.targets.gatehouse_app", env)

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
            rss_mib=resident_mib(server.pid),
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
