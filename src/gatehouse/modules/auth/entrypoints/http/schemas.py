"""HTTP schemas of the auth module."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from gatehouse.modules.auth.application.factor_management import MfaStatus, TotpEnrolment
from gatehouse.modules.auth.application.sessions import SessionView
from gatehouse.modules.auth.application.signing_in import MfaRequired, TokenPair
from gatehouse.shared.http.schemas import MfaCodeField, OutSchema, SafeStr, Schema, SixDigitCode

MfaTokenField = Annotated[SafeStr, Field(min_length=1, max_length=256)]
MethodField = Literal["totp", "email", "backup_code"]


class LoginIn(Schema):
    email: Annotated[SafeStr, Field(min_length=1, max_length=320)]
    password: Annotated[SafeStr, Field(min_length=1, max_length=4096)]
    cookie: bool = False


class RefreshIn(Schema):
    refresh_token: Annotated[SafeStr, Field(min_length=1, max_length=256)] | None = None
    cookie: bool | None = Field(
        default=None,
        description=(
            "cookie mode: true answers with the new refresh token in cookies (and refreshes from"
            " the gatehouse_refresh cookie when no refresh_token is sent); false answers in the"
            " body; unset follows where the token came from"
        ),
    )


class LogoutIn(Schema):
    refresh_token: Annotated[SafeStr, Field(min_length=1, max_length=256)] | None = None


class SessionOut(OutSchema):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool

    @classmethod
    def of(cls, view: SessionView) -> SessionOut:
        return cls(
            id=view.id,
            created_at=view.created_at,
            last_used_at=view.last_used_at,
            user_agent=view.user_agent,
            ip=None if view.ip is None else str(view.ip),
            current=view.current,
        )


class SessionPageOut(OutSchema):
    items: list[SessionOut]
    next_cursor: str | None


class TokenPairOut(OutSchema):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    refresh_token: str | None = Field(
        default=None, description="absent in cookie mode: it is in the gatehouse_refresh cookie"
    )
    refresh_expires_in: int
    csrf_token: str | None = Field(
        default=None,
        description=(
            "cookie mode only: the gatehouse_csrf cookie's value, to send in X-CSRF-Token when"
            " refreshing from the cookie (an app on a sibling host cannot read that cookie)"
        ),
    )

    @classmethod
    def of(cls, pair: TokenPair, *, cookie_mode: bool = False) -> TokenPairOut:
        return cls(
            access_token=pair.access_token,
            expires_in=pair.expires_in,
            refresh_token=None if cookie_mode else pair.refresh_token,
            refresh_expires_in=pair.refresh_expires_in,
            csrf_token=pair.csrf_token if cookie_mode else None,
        )


class AuthorizationServerMetadataOut(OutSchema):
    """RFC 8414 authorization server metadata: only what this server does."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str] = Field(
        description="empty: there is no authorization endpoint, so no response type is supported"
    )


class MfaRequiredOut(OutSchema):
    """The password was right; a second factor is needed: POST /auth/mfa/verify."""

    mfa_required: Literal[True] = True
    mfa_token: str = Field(description="single use, for 5 minutes and 5 wrong codes")
    methods: list[MethodField]
    expires_in: int

    @classmethod
    def of(cls, required: MfaRequired) -> MfaRequiredOut:
        return cls(
            mfa_token=required.mfa_token,
            methods=[method.value for method in required.methods],
            expires_in=required.expires_in,
        )


class VerifyMfaIn(Schema):
    mfa_token: MfaTokenField
    method: MethodField
    code: MfaCodeField
    cookie: bool = False


class MfaTokenIn(Schema):
    mfa_token: MfaTokenField


class MfaStatusOut(OutSchema):
    totp: bool
    email: bool
    backup_codes_remaining: int
    totp_pending: bool = Field(description="an authenticator setup awaits its first code")
    few_backup_codes: bool = Field(description="three or fewer remain: offer to make new ones")

    @classmethod
    def of(cls, status: MfaStatus) -> MfaStatusOut:
        return cls(
            totp=status.totp,
            email=status.email,
            backup_codes_remaining=status.backup_codes_remaining,
            totp_pending=status.totp_pending,
            few_backup_codes=status.few_backup_codes,
        )


class TotpEnrolmentOut(OutSchema):
    secret: str = Field(description="base 32, for typing into an app by hand")
    otpauth_uri: str
    qr_svg: str = Field(description="the otpauth URI as a QR code, an SVG document")

    @classmethod
    def of(cls, enrolment: TotpEnrolment) -> TotpEnrolmentOut:
        return cls(
            secret=enrolment.secret,
            otpauth_uri=enrolment.otpauth_uri,
            qr_svg=enrolment.qr_svg,
        )


class ConfirmTotpIn(Schema):
    code: SixDigitCode


class BackupCodesOut(OutSchema):
    backup_codes: list[str] = Field(description="10 codes, each works once; show them once")
