"""A private PgBouncer (Debian's ``pgbouncer``) in transaction mode in front of the test
PostgreSQL: its own ini and auth file, on a free 127.0.0.1 port, its log in a directory of the
test's. ``pgbouncer_binary()`` is None where the package is missing (the tests skip).

PgBouncer refuses to run as root: as root (CI's container) it runs as ``nobody`` (``-u``), with
its ini and auth file in a temporary directory of that user's, removed afterwards."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import make_url

from gatehouse.testing.mail import free_port
from tests.support.processes import HOST, stop, wait_until

DEBIAN_PGBOUNCER = Path("/usr/sbin/pgbouncer")


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        str(DEBIAN_PGBOUNCER) if DEBIAN_PGBOUNCER.is_file() else None
    )


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _private_directory() -> tuple[Path, list[str]]:
    """A new directory PgBouncer can read, and the options that make it run as non-root."""
    directory = Path(tempfile.mkdtemp(prefix="gatehouse-pgbouncer-"))
    if os.geteuid() != 0:
        return directory, []
    nobody = pwd.getpwnam("nobody")
    os.chown(directory, nobody.pw_uid, nobody.pw_gid)
    return directory, ["-u", "nobody"]


def _listens(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), 0.5).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def pgbouncer(
    binary: str, database_url: str, directory: Path, *, pool_size: int = 2
) -> Iterator[str]:
    """PgBouncer in front of ``database_url``'s server, pooling by transaction with at most
    ``pool_size`` server connections per database and user; yields ``database_url`` with host
    and port replaced by PgBouncer's. Its log goes to ``directory/pgbouncer.log``."""
    url = make_url(database_url)
    server_host = url.host or unquote(str(url.query.get("host", "127.0.0.1")))
    server_port = url.port or int(str(url.query.get("port", "5432")))
    user, password = url.username or "postgres", url.password or ""
    port = free_port(HOST)
    directory.mkdir(parents=True, exist_ok=True)
    private, as_user = _private_directory()
    auth_file = private / "users.txt"
    auth_file.write_text(f"{_quoted(user)} {_quoted(password)}\n")
    ini = private / "pgbouncer.ini"
    ini.write_text(
        "[databases]\n"
        f"* = host={server_host} port={server_port}\n"
        "[pgbouncer]\n"
        f"listen_addr = {HOST}\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {auth_file}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
        "max_client_conn = 500\n"
        f"admin_users = {user}\n"
    )
    for path in (auth_file, ini):
        shutil.chown(path, private.owner(), private.group())
        path.chmod(0o600)
    log = directory / "pgbouncer.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [binary, *as_user, str(ini)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: _listens(port), "pgbouncer", timeout=20, process=process, log=log)
        query = {key: value for key, value in url.query.items() if key not in {"host", "port"}}
        yield url.set(host=HOST, port=port, query=query).render_as_string(hide_password=False)
    finally:
        stop(process)
        shutil.rmtree(private, ignore_errors=True)
