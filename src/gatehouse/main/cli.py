"""``gatehouse serve | migrate | worker | create-admin | keys rotate | keys list | db shell``,
``gatehouse users show | disable | enable | revoke-sessions EMAIL`` and ``gatehouse users import
FILE.jsonl``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from gatehouse.main.alembic_files import alembic_ini_of_the_package
from gatehouse.main.db_shell import db_shell
from gatehouse.main.embedded import embedded_infrastructure
from gatehouse.main.import_cli import add_users_import_parser, import_users
from gatehouse.main.logging import configure_logging
from gatehouse.main.operator_cli import USER_COMMANDS, add_user_commands, run_user_command
from gatehouse.main.secrets import SecretsError
from gatehouse.main.serving import serve
from gatehouse.main.settings import Settings
from gatehouse.modules.auth.adapters.keys import (
    KeyConfigurationError,
    generate_key,
    read_keys,
    retire_keys,
)

log = logging.getLogger("gatehouse.cli")


def _alembic_ini() -> Path:
    """``alembic.ini`` in the working directory, else the package's own (a source checkout's,
    or the copy a wheel carries)."""
    here = Path.cwd() / "alembic.ini"
    found = here if here.is_file() else alembic_ini_of_the_package()
    if found is None:
        msg = "alembic.ini not found: run gatehouse from the project directory"
        raise SystemExit(msg)
    return found


def migrate(settings: Settings) -> None:
    from alembic import command  # noqa: PLC0415 - only the migrate path needs Alembic
    from alembic.config import Config  # noqa: PLC0415

    config = Config(str(_alembic_ini()))
    config.attributes["url"] = settings.direct_database_url  # never through a pooler
    command.upgrade(config, "head")


async def _worker_loop(settings: Settings) -> None:
    from gatehouse.main.container import build_container  # noqa: PLC0415
    from gatehouse.main.modules import start_mappers  # noqa: PLC0415
    from gatehouse.modules.notifications.entrypoints.worker import run_dispatchers  # noqa: PLC0415

    start_mappers()
    container = build_container(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_dispatchers(
            container.notifications.outboxes(),
            stop,
            poll_seconds=settings.outbox_poll_seconds,
            grace_seconds=settings.shutdown_grace_seconds,
        )
    finally:
        await container.notifications.store().close()
        await container.notifications.webhook_queue().close()
        await container.notifications.webhook_sender().aclose()
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gatehouse", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        choices=range(1, 65),
        metavar="N",
        help="server processes sharing the port (1-64; default 1): see docs/performance.md",
    )
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("worker", help="run the outbox dispatchers (mail, webhooks) on their own")
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
    add_users_import_parser(users_sub)
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


def _users_import(settings: Settings, path: Path) -> int:
    if not path.exists():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2
    with embedded_infrastructure(settings) as resolved:  # the container needs Redis
        migrate(resolved)
        return asyncio.run(import_users(resolved, path))


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
            serve(settings, args.host, args.port, workers=args.workers)
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
            return db_shell(settings, psql_args)
    except (SecretsError, KeyConfigurationError) as error:
        print(f"refusing to start: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        with contextlib.suppress(Exception):
            log.info("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
