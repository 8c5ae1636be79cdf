"""``gatehouse users show | disable | enable | revoke-sessions EMAIL``: the operator's command line.

Each command goes through the use case the admin API uses (``UpdateUserHandler`` for disable and
enable, ``EndAllSessionsHandler`` for revoke-sessions), so disabling ends every session in the
same transaction and every change is an audit event. No administrator account acts here: the
events name the operator as ``cli:<OS user>`` (``details.operator``) instead of an ``admin_id``.

Standard output carries only the result; errors go to standard error. Exit status: 0 done,
1 no user has that address, 2 anything else refused (not an address, database unreachable).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gatehouse.main.settings import Settings
    from gatehouse.modules.accounts.application.views import UserView

USER_COMMANDS = ("show", "disable", "enable", "revoke-sessions")

NOT_FOUND = 1
REFUSED = 2


def add_user_commands(users: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the operator's commands on the ``users`` subcommand's parsers."""
    show = users.add_parser("show", help="a user's account: status, roles, second factors")
    show.add_argument("email")
    show.add_argument("--json", action="store_true", help="as JSON, like the admin API's answer")
    disable = users.add_parser(
        "disable", help="disable an account: every session ends now, refresh included"
    )
    disable.add_argument("email")
    enable = users.add_parser("enable", help="enable a disabled account: the user may sign in")
    enable.add_argument("email")
    revoke = users.add_parser(
        "revoke-sessions", help="end every session of a user; they may sign in again"
    )
    revoke.add_argument("email")


def operator_name() -> str:
    """Who ran the command, for the audit log: the OS account as the process sees it."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name (e.g. a container without one): still the CLI
        return "cli"


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def describe(view: UserView) -> str:
    """The user as aligned ``field  value`` lines."""
    mfa = view.mfa
    factors = [name for name, on in (("totp", mfa.totp), ("email", mfa.email)) if on]
    if mfa.backup_codes_remaining:
        factors.append(f"{mfa.backup_codes_remaining} backup codes left")
    fields = [
        ("id", str(view.id)),
        ("email", view.email),
        ("display_name", view.display_name or "-"),
        ("verified", _yes(view.email_verified)),
        ("active", _yes(view.is_active)),
        ("roles", ", ".join(view.roles)),
        ("mfa", ", ".join(factors) or "none"),
        ("created_at", view.created_at.isoformat()),
    ]
    width = max(len(name) for name, _ in fields)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in fields)


def _as_json(view: UserView) -> str:
    from gatehouse.modules.accounts.entrypoints.http.schemas import (  # noqa: PLC0415
        AdminUserOut,
    )

    return AdminUserOut.of(view).model_dump_json(indent=2)


async def run_user_command(settings: Settings, args: argparse.Namespace) -> int:
    """Run ``gatehouse users <command> EMAIL`` on resolved settings (database and Redis URLs)."""
    from gatehouse.main.container import build_container  # noqa: PLC0415
    from gatehouse.main.modules import start_mappers  # noqa: PLC0415
    from gatehouse.modules.accounts.application.administration import UpdateUser  # noqa: PLC0415
    from gatehouse.modules.accounts.application.lookup import FindUser  # noqa: PLC0415
    from gatehouse.modules.accounts.domain.errors import UserNotFound  # noqa: PLC0415
    from gatehouse.modules.auth.application.sessions import EndAllSessions  # noqa: PLC0415
    from gatehouse.shared.errors import GatehouseError  # noqa: PLC0415

    start_mappers()
    container = build_container(settings)
    command, operator = args.users_command, operator_name()
    try:
        user = await container.accounts.find_user()(FindUser(args.email))
        if command == "show":
            print(_as_json(user) if args.json else describe(user))
        elif command in {"disable", "enable"}:
            active = command == "enable"
            was = user.is_active
            await container.accounts.update_user()(
                UpdateUser(admin_id=None, user_id=user.id, is_active=active, operator=operator)
            )
            state = "enabled" if active else "disabled"
            if was == active:
                print(f"{user.email} ({user.id}) was already {state}")
            elif active:
                print(f"enabled {user.email} ({user.id}): they may sign in")
            else:
                print(f"disabled {user.email} ({user.id}): every session ended")
        else:
            ended = await container.auth.end_all_sessions()(
                EndAllSessions(user.id, "admin_revoked", operator=operator)
            )
            print(f"ended {ended} session{'' if ended == 1 else 's'} of {user.email} ({user.id})")
    except UserNotFound as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return NOT_FOUND
    except GatehouseError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return REFUSED
    finally:
        await container.read_pool().close()
        await container.redis().aclose()
        await container.engine().dispose()
    return 0
