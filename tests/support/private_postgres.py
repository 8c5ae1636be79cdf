"""A PostgreSQL server of one test module's own, to stop, start, freeze and thaw on purpose.

Never the machine's server, nor the suite's shared one: its own data directory, its own free
TCP port on 127.0.0.1 (no Unix socket), no durability. The programs are pgserver's (the
embedded extra), else Debian's. As root, PostgreSQL refuses to
run; the server then runs as pgserver's system user, as the embedded default does.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from gatehouse.main.embedded import pgserver_bin
from gatehouse.testing.mail import free_port

HOST = "127.0.0.1"
SYSTEM_USER = "pgserver"  # pgserver's choice, so both share one account
_DEBIAN = Path("/usr/lib/postgresql")


def postgres_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, if any is installed."""
    bundled = pgserver_bin()
    if bundled is not None and (bundled / "pg_ctl").is_file():
        return bundled
    debian = sorted(_DEBIAN.glob("*/bin/pg_ctl"), reverse=True)
    return debian[0].parent if debian else None


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class PrivatePostgres:
    """``start()``, ``stop()`` (``pg_ctl stop -m fast``), ``freeze()`` / ``thaw()`` (SIGSTOP /
    SIGCONT to the postmaster and every backend). ``closed()`` thaws and stops, whatever the
    state: call it in a ``finally``."""

    def __init__(self, binaries: Path, directory: Path) -> None:
        self._bin = binaries
        self.data = directory / "pgdata"
        self.log = directory / "postgres.log"
        self.port = free_port(HOST)
        self._user = SYSTEM_USER if os.geteuid() == 0 else None
        self._frozen: list[int] = []
        self._initdb(directory)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        # Output to a file, not a pipe: the server pg_ctl starts would hold a pipe open.
        with tempfile.TemporaryFile() as output:
            done = subprocess.run(  # noqa: PLW1510 - the output goes into the failure
                [str(self._bin / args[0]), *args[1:]],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                user=self._user,
            )
            if done.returncode:
                output.seek(0)
                text = output.read().decode(errors="replace")
                msg = f"{args[0]} {args[-1]} failed ({done.returncode}): {text}"
                raise RuntimeError(msg)

    def _initdb(self, directory: Path) -> None:
        self.data.mkdir(parents=True)
        if self._user is not None:
            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists  # noqa: PLC0415

            ensure_user_exists(self._user)
            ensure_prefix_permissions(self.data)
            entry = pwd.getpwnam(self._user)
            for path in (directory, self.data):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={HOST} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                  "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def _postmaster(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int(pid_file.read_text().splitlines()[0])
        return None

    def freeze(self) -> None:
        """SIGSTOP the postmaster, then every child: connections stay open, nothing answers."""
        postmaster = self._postmaster()
        assert postmaster is not None, "the private PostgreSQL is not running"
        os.kill(postmaster, signal.SIGSTOP)
        self._frozen = [postmaster]
        for child in _children(postmaster):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGSTOP)
                self._frozen.append(child)

    def thaw(self) -> None:
        frozen, self._frozen = self._frozen, []
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def running(self) -> bool:
        return self._postmaster() is not None

    def close(self) -> None:
        self.thaw()
        if self.running():
            with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
                self.stop("immediate")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private server, always thawed, stopped and removed on the way out.

    Its directory is a fresh one under the system temp dir, not pytest's: as root the server
    runs as another user, and every pytest session that starts (another run on the machine)
    closes ``/tmp/pytest-of-root`` to everyone but root again."""
    binaries = postgres_bin()
    if binaries is None or shutil.which("pg_ctl", path=str(binaries)) is None:
        import pytest  # noqa: PLC0415

        pytest.skip("no PostgreSQL programs (install the embedded extra: make install)")
    directory = Path(tempfile.mkdtemp(prefix="gatehouse-postgres-"))
    try:
        server = PrivatePostgres(binaries, directory)
        try:
            server.start()
            yield server
        finally:
            server.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
