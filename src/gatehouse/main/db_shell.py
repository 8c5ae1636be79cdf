"""``gatehouse db shell``: psql on the configured database, or the embedded one, started for
the session; the connection goes in ``PG*`` variables, never on the command line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence

from gatehouse.main.embedded import embedded_infrastructure
from gatehouse.main.settings import Settings

PSQL_MISSING = (
    "psql, PostgreSQL's command-line client, is not installed. Install it (Debian and Ubuntu: "
    "apt install postgresql-client; macOS: brew install libpq) or the 'embedded' extra, which "
    "ships one; or point any PostgreSQL client at {url}"
)


def psql_program(*, embedded: bool) -> str | None:
    """pgserver's bundled ``psql`` first for the embedded server (same version), else the one
    on the PATH; for another server the PATH's first."""
    from gatehouse.main.embedded import pgserver_bin  # noqa: PLC0415

    directory = pgserver_bin()
    bundled = directory / "psql" if directory is not None else None
    candidates = [str(bundled)] if bundled is not None and bundled.is_file() else []
    on_path = shutil.which("psql")
    if on_path:
        candidates.insert(len(candidates) if embedded else 0, on_path)
    return candidates[0] if candidates else None


def libpq_environment(database_url: str) -> dict[str, str]:
    """``PG*`` variables for libpq programs from a SQLAlchemy URL: the password stays out of
    the command line (and so out of ``ps``)."""
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(database_url)
    query_host = url.query.get("host")
    host = url.host or (query_host if isinstance(query_host, str) else None)
    values = {
        "PGHOST": host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGAPPNAME": "gatehouse db shell",
    }
    return {name: value for name, value in values.items() if value}


def db_shell(settings: Settings, psql_args: Sequence[str]) -> int:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    with embedded_infrastructure(settings, redis=False) as resolved:
        database_url = resolved.direct_database_url  # a session of its own: not via a pooler
        assert database_url is not None
        program = psql_program(embedded=not settings.database_url)
        if program is None:
            shown = make_url(database_url).set(drivername="postgresql")
            print(
                PSQL_MISSING.format(url=shown.render_as_string(hide_password=True)), file=sys.stderr
            )
            return 2
        environment = {**os.environ, **libpq_environment(database_url)}
        # Ctrl-C belongs to psql (it cancels a query); a handler, unlike SIG_IGN, is not
        # inherited by the child.
        previous = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
        try:
            return subprocess.call([program, *psql_args], env=environment)  # noqa: S603
        finally:
            signal.signal(signal.SIGINT, previous)
