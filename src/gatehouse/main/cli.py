"""``gatehouse serve | migrate | worker | create-admin | keys rotate | keys list | db shell``,
``gatehouse users show | disable | enable | revoke-sessions EMAIL`` and ``gatehouse users import
FILE.jsonl``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from pydantic import ValidationError

from gatehouse.main.embedded import embedded_infrastructure
from gatehouse.main.logging import configure_logging
from gatehouse.main.operator_cli import USER_COMMANDS, add_user_commands, run_user_command
from gatehouse.main.secrets import SecretsError
from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import (
    KeyConfigurationError,
    generate_key,
    read_keys,
    retire_keys,
)

if TYPE_CHECKING:
    from gatehouse.modules.accounts.application.import_users import ImportedUser

log = logging.getLogger("gatehouse.cli")


def _alembic_ini() -> Path:
    """``alembic.ini`` in the working directory, else beside the source tree."""
    for candidate in (
        Path.cwd() / "alembic.ini",
        Path(__file__).resolve().parents[3] / "alembic.ini",
    ):
        if candidate.is_file():
            return candidate
    msg = "alembic.ini not found: run gatehouse from the project directory"
    raise SystemExit(msg)


def migrate(settings: Settings) -> None:
    from alembic import command  # noqa: PLC0415 - only the migrate path needs Alembic
    from alembic.config import Config  # noqa: PLC0415

    config = Config(str(_alembic_ini()))
    config.attributes["url"] = settings.database_url
    command.upgrade(config, "head")


def _mail_line(settings: Settings) -> str:
    if not settings.dispatch_in_serve:
        return "sent by `gatehouse worker` (GATEHOUSE_DISPATCH_IN_SERVE=false)"
    if settings.smtp_url:
        server = urlsplit(settings.smtp_url)  # host and port only: never the credentials
        return f"sent through {server.hostname}:{server.port or 'default port'}"
    return (
        "not sent (GATEHOUSE_SMTP_URL is unset): each one is logged, on standard error, as one "
        "line: mail to <address>: <subject>: <link> code <code>"
    )


def banner(settings: Settings, resolved: Settings, host: str, port: int) -> str:
    """What ``gatehouse serve`` prints once it listens (dev and test modes): where things are.

    ``settings`` as configured, ``resolved`` with the embedded servers' URLs filled in.
    """
    shown = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104 - a display name
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    embedded = [
        name
        for name, url in (("PostgreSQL", settings.database_url), ("Redis", settings.redis_url))
        if not url
    ]
    data = (
        f"embedded {' and '.join(embedded)} in {settings.data_dir.resolve()}"
        if embedded
        else "PostgreSQL and Redis from GATEHOUSE_DATABASE_URL and GATEHOUSE_REDIS_URL"
    )
    lines = [
        f"Gatehouse is serving ({resolved.env} mode). Ctrl-C stops it.",
        f"  API    {base}/api/v1",
        f"  Docs   {base}/docs",
        f"  Mails  {_mail_line(resolved)}",
        f"  Data   {data}; `gatehouse db shell` opens psql on the database",
    ]
    if resolved.public_url != base:
        lines.append(f"  Links in mails start with {resolved.public_url} (GATEHOUSE_PUBLIC_URL)")
    return "\n".join(lines)


def _server(config: Any, announce: str | None) -> Any:
    import uvicorn  # noqa: PLC0415

    class Server(uvicorn.Server):
        """Prints ``announce`` on standard output once the socket listens."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if announce and self.started and not self.should_exit:
                print(announce, flush=True)

    return Server(config)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn  # noqa: PLC0415

    from gatehouse.main.app import create_app  # noqa: PLC0415
    from gatehouse.main.monitoring import monitored  # noqa: PLC0415

    host = args.host or settings.host
    port = args.port or settings.port
    with embedded_infrastructure(settings) as resolved, monitored(resolved) as monitoring:
        # refuses missing or weak secrets before touching anything
        app = create_app(resolved, monitoring=monitoring)
        migrate(resolved)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            loop="uvloop",
            http="httptools",
        )
        log.info(
            "serving", extra={"url": f"http://{host}:{port}", "docs": f"http://{host}:{port}/docs"}
        )
        dev = resolved.env != "production"
        # uvicorn shuts down on SIGTERM, then raises the signal again: as KeyboardInterrupt, it
        # unwinds this block and stops the embedded servers, instead of killing the process.
        signal.signal(signal.SIGTERM, _interrupt)
        _server(config, banner(settings, resolved, host, port) if dev else None).run()


async def _worker_loop(settings: Settings) -> None:
    from gatehouse.main.container import build_container  # noqa: PLC0415
    from gatehouse.main.modules import start_mappers  # noqa: PLC0415
    from gatehouse.modules.notifications.entrypoints.worker import run_dispatcher  # noqa: PLC0415

    start_mappers()
    container = build_container(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_dispatcher(
            container.notifications.dispatch(),
            container.notifications.store(),
            stop,
            poll_seconds=settings.outbox_poll_seconds,
        )
    finally:
        await container.notifications.store().close()
        await container.engine().dispose()


def _worker(settings: Settings) -> None:
    from gatehouse.main.monitoring import monitored  # noqa: PLC0415

    with embedded_infrastructure(settings) as resolved, monitored(resolved, traces=False):
        log.info("outbox worker started")
        asyncio.run(_worker_loop(resolved))


async def _create_admin(settings: Settings, email: str, password: str | None) -> int:
    from gatehouse.main.container import build_container  # noqa: PLC0415
    from gatehouse.main.modules import start_mappers  # noqa: PLC0415
    from gatehouse.modules.accounts.application.admin import CreateAdmin  # noqa: PLC0415
    from gatehouse.shared.errors import GatehouseError  # noqa: PLC0415

    start_mappers()
    container = build_container(settings)
    try:
        result = await container.accounts.create_admin()(CreateAdmin(email, password))
    except GatehouseError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
    finally:
        await container.engine().dispose()
        container.accounts.hasher().close()
    if result.created:
        print(f"created administrator {email} ({result.user_id})")
        if result.generated_password:
            print(f"password (shown once): {result.generated_password}")
    else:
        print(f"{email} ({result.user_id}) is an administrator")
    return 0


# ---- gatehouse users import FILE.jsonl ----------------------------------------------------------
# Streams a JSON Lines file through accounts' ImportUsersHandler (the use case behind
# POST /admin/users/import) in batches of its maximum. Idempotent on email, so rerunning an
# interrupted import resumes it.

IMPORT_FIELDS = frozenset({"email", "email_verified", "display_name", "roles", "password_hash"})


def _import_line_problem(value: object) -> str | None:
    if not isinstance(value, dict):
        return "not a JSON object"
    unknown = sorted(set(value) - IMPORT_FIELDS)
    roles = value.get("roles", [])
    problems = (
        (bool(unknown), f"unknown fields: {', '.join(unknown)}"),
        (not isinstance(value.get("email"), str), "email: a string is required"),
        (
            not isinstance(value.get("email_verified", False), bool),
            "email_verified: must be true or false",
        ),
        (not isinstance(value.get("display_name"), str | None), "display_name: must be a string"),
        (
            not isinstance(roles, list) or not all(isinstance(role, str) for role in roles),
            "roles: must be a list of strings",
        ),
        (not isinstance(value.get("password_hash"), str | None), "password_hash: must be a string"),
    )
    return next((message for failed, message in problems if failed), None)


def parse_import_line(line: str) -> ImportedUser | str:
    """The user on one line of an import file, or why the line is not one."""
    from gatehouse.modules.accounts.application.import_users import (  # noqa: PLC0415
        ImportedUser,
    )

    try:
        value = json.loads(line)
    except ValueError as error:
        return f"not JSON: {error}"
    problem = _import_line_problem(value)
    if problem is not None:
        return problem
    return ImportedUser(
        email=value["email"],
        email_verified=value.get("email_verified", False),
        display_name=value.get("display_name"),
        roles=tuple(value.get("roles", [])),
        password_hash=value.get("password_hash"),
    )


class ImportProgress:
    """A counter on standard error: rewritten in place on a terminal, a line a batch otherwise."""

    def __init__(self, total: int | None, stream: TextIO) -> None:
        self._total = total
        self._stream = stream
        self._tty = stream.isatty()

    def show(self, lines: int, created: int, skipped: int) -> None:
        done = f"{lines} lines"
        if self._total:
            done = f"{lines}/{self._total} lines ({100 * lines // self._total}%)"
        text = f"importing: {done}, {created} created, {skipped} skipped"
        if self._tty:
            self._stream.write(f"\r{text}")
        else:
            self._stream.write(f"{text}\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def _count_lines(path: Path) -> int | None:
    if not path.is_file():
        return None  # a pipe: no total
    with path.open("rb") as counted:
        return sum(1 for _ in counted)


async def _import_users(settings: Settings, path: Path) -> int:
    from gatehouse.main.container import build_container  # noqa: PLC0415
    from gatehouse.main.modules import start_mappers  # noqa: PLC0415
    from gatehouse.modules.accounts.application.import_users import (  # noqa: PLC0415
        ALREADY_EXISTS,
        MAX_IMPORT_BATCH,
        ImportUsers,
    )

    start_mappers()
    container = build_container(settings)
    handler = container.accounts.import_users()
    progress = ImportProgress(_count_lines(path), sys.stderr)
    lines = created = skipped = existing = bad = 0
    batch: list[tuple[int, ImportedUser]] = []

    async def flush() -> None:
        nonlocal created, skipped, existing
        if not batch:
            return
        result = await handler(
            ImportUsers(users=tuple(user for _, user in batch), admin_id=None, may_grant_admin=True)
        )
        created += result.created
        skipped += len(result.skipped)
        for item in result.skipped:
            if item.reason == ALREADY_EXISTS:
                existing += 1  # expected when resuming: counted, not listed
            else:
                print(f"line {batch[item.index][0]}: {item.email}: {item.reason}", file=sys.stderr)
        batch.clear()
        progress.show(lines, created, skipped + bad)

    try:
        with path.open(encoding="utf-8", errors="replace") as source:
            for number, line in enumerate(source, start=1):
                lines = number
                if not line.strip():
                    continue
                user = parse_import_line(line)
                if isinstance(user, str):
                    bad += 1
                    print(f"line {number}: skipped: {user}", file=sys.stderr)
                    continue
                batch.append((number, user))
                if len(batch) == MAX_IMPORT_BATCH:
                    await flush()
            await flush()
    finally:
        progress.close()
        await container.engine().dispose()
    print(
        f"created {created}, skipped {skipped + bad} ({existing} already existed, {bad} bad lines)"
    )
    return 0


def _add_users_import_parser(users_sub: Any) -> None:
    users_import = users_sub.add_parser(
        "import",
        help="import users from a JSON Lines file (one user a line: email, email_verified, "
        "display_name, roles, password_hash), resumable: existing addresses are skipped",
    )
    users_import.add_argument("file", type=Path)


def _users_import(settings: Settings, path: Path) -> int:
    if not path.exists():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    with embedded_infrastructure(settings) as resolved:  # the container needs Redis
        migrate(resolved)
        return asyncio.run(_import_users(resolved, path))


PSQL_MISSING = (
    "psql, PostgreSQL's command-line client, is not installed. Install it (Debian and Ubuntu: "
    "apt install postgresql-client; macOS: brew install libpq) or the 'embedded' extra, which "
    "ships one; or point any PostgreSQL client at {url}"
)


def _psql_program(*, embedded: bool) -> str | None:
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


def _db_shell(settings: Settings, psql_args: Sequence[str]) -> int:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    with embedded_infrastructure(settings, redis=False) as resolved:
        assert resolved.database_url is not None
        program = _psql_program(embedded=not settings.database_url)
        if program is None:
            shown = make_url(resolved.database_url).set(drivername="postgresql")
            print(
                PSQL_MISSING.format(url=shown.render_as_string(hide_password=True)), file=sys.stderr
            )
            return 2
        environment = {**os.environ, **libpq_environment(resolved.database_url)}
        # Ctrl-C belongs to psql (it cancels a query); a handler, unlike SIG_IGN, is not
        # inherited by the child.
        previous = signal.signal(signal.SIGINT, lambda _signum, _frame: None)
        try:
            return subprocess.call([program, *psql_args], env=environment)  # noqa: S603
        finally:
            signal.signal(signal.SIGINT, previous)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("worker", help="run the mail outbox dispatcher on its own")
    admin = sub.add_parser("create-admin", help="promote or create an administrator")
    admin.add_argument("email")
    admin.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    keys = sub.add_parser("keys", help="manage signing keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    keys_sub.add_parser(
        "rotate",
        help="add a new signing key (it signs once every process has loaded it) and retire the "
        "keys whose tokens have all expired",
    )
    keys_sub.add_parser("list", help="the signing keys and what each one is doing")
    db = sub.add_parser("db", help="the database")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser(
        "shell",
        help="psql on the configured database, or the embedded one (started for the session); "
        "arguments after `shell` go to psql, e.g. gatehouse db shell -c 'SELECT 1'",
    )
    # --- operator's user commands: gatehouse users show|disable|enable|revoke-sessions EMAIL,
    # and gatehouse users import FILE.jsonl ---
    users = sub.add_parser("users", help="look up, act on and import users")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add_user_commands(users_sub)
    _add_users_import_parser(users_sub)
    # --- end of the operator's user commands ---
    return parser


def _keys(settings: Settings, command: str) -> None:
    directory, policy = settings.resolved_keys_dir, settings.key_rotation
    now = datetime.now(UTC)
    if command == "rotate":
        path = generate_key(directory, now)
        print(f"new signing key: {path}")
        if policy.active(read_keys(directory), now).path == path:
            print("it signs now: it is the only key")
        else:
            print(f"it signs from {now + policy.activation_delay:%Y-%m-%d %H:%M:%S} UTC")
        for retired in retire_keys(directory, policy, now):
            print(f"retired (all its tokens have expired): {retired}")
        return
    keys = read_keys(directory)
    if not keys:
        print(f"no signing key in {directory}")
        return
    active = policy.active(keys, now)
    retirable = {key.kid for key in policy.retirable(keys, now)}
    for key in keys:
        if key is active:
            state = "signing"
        elif key.created_at > active.created_at:
            state = f"published, signs from {key.created_at + policy.activation_delay:%H:%M:%S}"
        else:
            state = "retirable" if key.kid in retirable else "published, verifying its tokens"
        print(f"{key.kid}  {key.created_at:%Y-%m-%d %H:%M:%S}  {state}  {key.path.name}")


def _users(settings: Settings, args: argparse.Namespace) -> int:
    """``gatehouse users import FILE`` or an operator's command on one user (``operator_cli``)."""
    if args.users_command == "import":
        return _users_import(settings, args.file)
    assert args.users_command in USER_COMMANDS  # argparse allows no other
    with embedded_infrastructure(settings) as resolved:  # the container needs Redis
        migrate(resolved)  # like create-admin: works on a fresh database
        return asyncio.run(run_user_command(resolved, args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "db":
        psql_args = extra[1:] if extra[:1] == ["--"] else extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"invalid settings:\n{error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, json=settings.log_json)
    try:
        if args.command == "serve":
            _serve(settings, args)
        elif args.command == "migrate":
            with embedded_infrastructure(settings, redis=False) as resolved:
                migrate(resolved)
        elif args.command == "worker":
            _worker(settings)
        elif args.command == "create-admin":
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
            with embedded_infrastructure(settings) as resolved:  # the container needs Redis
                migrate(resolved)  # like serve: a first command on a fresh database works
                return asyncio.run(_create_admin(resolved, args.email, password))
        elif args.command == "keys":
            _keys(settings, args.keys_command)
        elif args.command == "users":
            return _users(settings, args)
        elif args.command == "db":
            return _db_shell(settings, psql_args)
    except (SecretsError, KeyConfigurationError) as error:
        print(f"refusing to start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
