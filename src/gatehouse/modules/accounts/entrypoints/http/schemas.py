"""HTTP schemas of the accounts module."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field

from gatehouse.modules.accounts.application.views import UserView
from gatehouse.shared.http.schemas import OutSchema, SafeStr, Schema

EmailField = Annotated[SafeStr, Field(min_length=1, max_length=320, examples=["ada@example.com"])]
PasswordField = Annotated[SafeStr, Field(min_length=1, max_length=4096)]
DisplayNameField = Annotated[SafeStr, Field(max_length=200, examples=["Ada Lovelace"])]
TokenField = Annotated[SafeStr, Field(min_length=1, max_length=512)]


class RegisterIn(Schema):
    email: EmailField
    password: PasswordField
    display_name: DisplayNameField | None = None


class VerifyEmailIn(Schema):
    token: TokenField


class VerifyEmailCodeIn(Schema):
    """The other way to verify: the address and the six-digit code from the mail."""

    email: EmailField
    code: Annotated[SafeStr, Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$")]


class EmailIn(Schema):
    email: EmailField


class ChangePasswordIn(Schema):
    current_password: PasswordField
    new_password: PasswordField


class ChangeEmailIn(Schema):
    new_email: EmailField
    password: PasswordField


class DeleteAccountIn(Schema):
    password: PasswordField


class ResetPasswordIn(Schema):
    token: TokenField
    new_password: PasswordField


class UpdateProfileIn(Schema):
    """Only the fields sent change; ``null`` clears one."""

    display_name: DisplayNameField | None = None
    locale: Annotated[SafeStr, Field(max_length=16, examples=["de"])] | None = Field(
        default=None, description="the language of the account's mails; null: Accept-Language"
    )


class MfaSummaryOut(OutSchema):
    totp: bool = False
    email: bool = False
    backup_codes_remaining: int = 0


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
            mfa=MfaSummaryOut(),
            locale=view.locale,
            created_at=view.created_at,
        )
