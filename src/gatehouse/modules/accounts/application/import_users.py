"""Import users made elsewhere, with their password hashes (``POST /admin/users/import`` and
``gatehouse users import``, which both go through ``ImportUsersHandler``).

At most ``MAX_IMPORT_BATCH`` users a call. Each one is checked on its own and either created or
skipped with its reason; nothing a user brings aborts the batch. The batch is written in one
transaction by one statement that creates only the addresses not yet registered
(``UserRepository.add_unregistered``), so importing the same users again creates nothing and
reports them ``already exists``: an interrupted import is resumed by running it again.

An imported account keeps its hash (bcrypt, argon2id or Django pbkdf2_sha256, checked by the
``hash_problem`` collaborator before anything is stored); the first successful sign-in replaces
it with the house scheme. Without a hash the account has no password: its owner sets one with a
password reset. No mail is sent.

One audit event per call, ``admin.users_imported``, names the acting administrator (``None``
from the command line) and counts what was created and skipped. The created accounts get no
event each (unlike a registration's ``account.registered``): a 1000-user call would write 1000
rows of the same fact. So an import sends no ``user.created`` webhook either.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.domain.errors import (
    InvalidDisplayName,
    InvalidEmail,
    UnknownRole,
)
from gatehouse.modules.accounts.domain.model import DisplayName, Email, PasswordHash, Role, User
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.shared.clock import Clock
from gatehouse.shared.errors import InvalidInput
from gatehouse.shared.ids import new_id

MAX_IMPORT_BATCH = 1000

ALREADY_EXISTS = "already exists"
DUPLICATE = "duplicate in this request"
INVALID_EMAIL = "invalid email"
ADMIN_NOT_IMPORTED = "the admin role is not imported: grant it with PATCH /admin/users/{id}"


class TooManyToImport(InvalidInput):
    code = "too_many_users"
    title = "Too many users in one import"


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedUser:
    """One user as the other system knew them; checked by the handler, not here."""

    email: str
    email_verified: bool = False
    display_name: str | None = None
    roles: tuple[str, ...] = ()
    password_hash: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportUsers:
    users: tuple[ImportedUser, ...]
    admin_id: uuid.UUID | None  # None: the operator, from the command line
    may_grant_admin: bool = False  # the API does not: granting admin takes step-up there
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class SkippedUser:
    email: str  # as it was sent
    reason: str
    index: int  # its place in the command's ``users``


@dataclass(frozen=True, slots=True)
class ImportResult:
    created: int
    skipped: tuple[SkippedUser, ...]


class ImportUsersHandler:
    def __init__(
        self,
        *,
        uow: Callable[[], AccountsUnitOfWork],
        hash_problem: Callable[[str], str | None],
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hash_problem = hash_problem
        self._clock = clock

    async def __call__(self, cmd: ImportUsers) -> ImportResult:
        if len(cmd.users) > MAX_IMPORT_BATCH:
            raise TooManyToImport(
                f"at most {MAX_IMPORT_BATCH} users a call, got {len(cmd.users)}", field="users"
            )
        now = self._clock.now()
        skipped: list[SkippedUser] = []
        accepted: list[tuple[int, ImportedUser, User]] = []
        seen: set[Email] = set()
        for index, item in enumerate(cmd.users):
            user_or_reason = self._user(item, cmd.may_grant_admin, now)
            if isinstance(user_or_reason, str):
                skipped.append(SkippedUser(item.email, user_or_reason, index))
            elif user_or_reason.email in seen:  # the first one wins
                skipped.append(SkippedUser(item.email, DUPLICATE, index))
            else:
                seen.add(user_or_reason.email)
                accepted.append((index, item, user_or_reason))
        async with self._uow() as uow:
            created = await uow.users.add_unregistered([user for _, _, user in accepted])
            skipped.extend(
                SkippedUser(item.email, ALREADY_EXISTS, index)
                for index, item, user in accepted
                if user.email not in created
            )
            skipped.sort(key=lambda s: s.index)
            details = {"created": str(len(created)), "skipped": str(len(skipped))}
            if cmd.admin_id is not None:
                details["admin_id"] = str(cmd.admin_id)
            else:
                details["by"] = "command line"
            uow.record(
                SecurityEvent(
                    type="admin.users_imported",
                    user_id=cmd.admin_id,
                    ip=cmd.ip,
                    user_agent=cmd.user_agent,
                    details=details,
                )
            )
            await uow.commit()
        return ImportResult(created=len(created), skipped=tuple(skipped))

    def _user(self, item: ImportedUser, may_grant_admin: bool, now: datetime) -> User | str:
        """The account to create, or why ``item`` is skipped."""
        try:
            email = Email.parse(item.email)
        except InvalidEmail:
            return INVALID_EMAIL
        try:
            display_name = DisplayName.parse(item.display_name)
        except InvalidDisplayName as error:
            return f"invalid display name: {error.detail}"
        try:
            Role.parse_all(item.roles)
        except UnknownRole as error:
            return error.detail
        if Role.ADMIN.value in item.roles and not may_grant_admin:
            return ADMIN_NOT_IMPORTED
        password_hash = None
        if item.password_hash is not None:
            problem = self._hash_problem(item.password_hash)
            if problem is not None:
                return problem
            password_hash = PasswordHash(item.password_hash)
        user = User.register(
            user_id=new_id(),
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            now=now,
            email_verified=item.email_verified,
        )
        if Role.ADMIN.value in item.roles:
            user.grant_role(Role.ADMIN, now)
        return user
