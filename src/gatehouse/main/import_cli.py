"""``gatehouse users import FILE.jsonl``: streams a JSON Lines file through accounts'
ImportUsersHandler (the use case behind POST /admin/users/import) in batches of its maximum.
Idempotent on email, so rerunning an interrupted import resumes it. ``gatehouse.main.cli``
starts the infrastructure and migrates first."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gatehouse.main.settings import Settings

if TYPE_CHECKING:
    from gatehouse.modules.accounts.application.import_users import ImportedUser


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


async def import_users(settings: Settings, path: Path) -> int:
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


def add_users_import_parser(users_sub: Any) -> None:
    users_import = users_sub.add_parser(
        "import",
        help="import users from a JSON Lines file (one user a line: email, email_verified, "
        "display_name, roles, password_hash), resumable: existing addresses are skipped",
    )
    users_import.add_argument("file", type=Path)
