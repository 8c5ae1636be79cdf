"""HTTP schemas of the accounts module."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from gatehouse.modules.accounts.application.import_users import MAX_IMPORT_BATCH
from gatehouse.modules.accounts.application.views import IdentityView, UserView
from gatehouse.shared.http.schemas import (
    EmailField,
    MfaCodeField,
    NewPasswordField,
    OutSchema,
    PasswordField,
    SafeStr,
    Schema,
    SixDigitCode,
    StepUpIn,
    at_most_one,
    at_most_one_of,
    exactly_one,
    one_of,
    sent,
)

DisplayNameField = Annotated[SafeStr, Field(max_length=200, examples=["Ada Lovelace"])]
TokenField = Annotated[SafeStr, Field(min_length=1, max_length=512)]


class RegisterIn(Schema):
    email: EmailField
    password: NewPasswordField
    display_name: DisplayNameField | None = None


class VerifyEmailIn(Schema):
    token: TokenField


class VerifyEmailCodeIn(Schema):
    """The other way to verify: the address and the six-digit code from the mail."""

    email: EmailField
    code: SixDigitCode


class EmailIn(Schema):
    email: EmailField


class ChangePasswordIn(Schema):
    """The current password, or an MFA code instead of it, and the new password."""

    model_config = ConfigDict(json_schema_extra=one_of("current_password", "code"))

    current_password: PasswordField | None = None
    code: MfaCodeField | None = None
    new_password: NewPasswordField

    @model_validator(mode="after")
    def _one_proof(self) -> ChangePasswordIn:
        exactly_one(self.current_password, self.code, "current_password and code")
        return self


class ChangeEmailIn(StepUpIn):
    new_email: EmailField


class DeleteAccountIn(StepUpIn):
    pass


class ResetPasswordIn(Schema):
    token: TokenField
    new_password: NewPasswordField


class UpdateProfileIn(Schema):
    """Only the fields sent change; ``null`` clears one."""

    display_name: DisplayNameField | None = None
    locale: Annotated[SafeStr, Field(max_length=16, examples=["de"])] | None = Field(
        default=None, description="the language of the account's mails; null: Accept-Language"
    )


class MfaSummaryOut(OutSchema):
    totp: bool
    email: bool
    backup_codes_remaining: int


class UserOut(OutSchema):
    id: uuid.UUID
    email: str
    email_verified: bool
    display_name: str | None
    roles: list[str]
    mfa: MfaSummaryOut
    locale: str | None
    created_at: datetime

    @classmethod
    def of(cls, view: UserView) -> UserOut:
        return cls(
            id=view.id,
            email=view.email,
            email_verified=view.email_verified,
            display_name=view.display_name,
            roles=list(view.roles),
            mfa=MfaSummaryOut(
                totp=view.mfa.totp,
                email=view.mfa.email,
                backup_codes_remaining=view.mfa.backup_codes_remaining,
            ),
            locale=view.locale,
            created_at=view.created_at,
        )


class AdminUpdateUserIn(Schema):
    """Only the fields sent change. Changing ``roles`` is a sensitive change: send your own
    ``password`` or an MFA ``code`` with it (step-up)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": sent("roles"),
            "then": one_of("password", "code"),
            "else": {"not": {"anyOf": [sent("password"), sent("code")]}},
        }
    )

    is_active: bool | None = None
    roles: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        default=None, max_length=16
    )
    email_verified: bool | None = None
    password: PasswordField | None = None
    code: MfaCodeField | None = None

    @model_validator(mode="after")
    def _proof_with_roles(self) -> AdminUpdateUserIn:
        if self.roles is not None:
            exactly_one(self.password, self.code, "password and code (changing roles)")
        elif self.password is not None or self.code is not None:
            msg = "password and code are only for changing roles"
            raise ValueError(msg)
        return self


class ImportedUserIn(Schema):
    """A user from another system. ``password_hash`` in bcrypt (``$2a$``/``$2b$``/``$2y$``),
    argon2id (PHC string) or Django ``pbkdf2_sha256$…`` form; without it the account has no
    password and its owner sets one with a password reset."""

    email: EmailField
    email_verified: bool = False
    display_name: DisplayNameField | None = None
    roles: list[Annotated[str, Field(min_length=1, max_length=32)]] = Field(
        default_factory=list, max_length=16
    )
    password_hash: Annotated[SafeStr, Field(min_length=1, max_length=1024)] | None = None


class ImportUsersIn(Schema):
    users: list[ImportedUserIn] = Field(max_length=MAX_IMPORT_BATCH)


class SkippedUserOut(OutSchema):
    email: str
    reason: str


class ImportUsersOut(OutSchema):
    created: int
    skipped: list[SkippedUserOut]


class AdminUserOut(UserOut):
    is_active: bool

    @classmethod
    def of(cls, view: UserView) -> AdminUserOut:
        return cls(**UserOut.of(view).model_dump(), is_active=view.is_active)


class AdminUserPageOut(OutSchema):
    items: list[AdminUserOut]
    next_cursor: str | None


class IdentityOut(OutSchema):
    """A provider account linked to the user: ``email`` is the one the provider gave last (for
    display; it decides nothing), ``last_used_at`` the last sign-in with it (``null``: none)."""

    provider: str
    email: str | None
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, view: IdentityView) -> IdentityOut:
        return cls(
            provider=view.provider,
            email=view.email,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
        )


class IdentityPageOut(OutSchema):
    items: list[IdentityOut]
    next_cursor: str | None


class UnlinkIdentityIn(Schema):
    """The password or an MFA code (step-up), asked for only once the unlink is allowed: an
    account whose last way to sign in this is gets 409 whatever it sends, even nothing (then
    403 ``reauth_failed``, not 422: at most one proof, not exactly one)."""

    model_config = ConfigDict(json_schema_extra=at_most_one_of("password", "code"))

    password: PasswordField | None = None
    code: MfaCodeField | None = None

    @model_validator(mode="after")
    def _at_most_one_proof(self) -> UnlinkIdentityIn:
        at_most_one(self.password, self.code, "password and code")
        return self
