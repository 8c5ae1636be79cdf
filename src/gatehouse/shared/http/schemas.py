"""Pydantic building blocks every module's HTTP schemas use."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator


def _no_control_characters(value: str) -> str:
    for ch in value:
        code = ord(ch)
        if code < 0x20 or 0xD800 <= code <= 0xDFFF:
            msg = "control characters and lone surrogates are not allowed"
            raise ValueError(msg)
    return value


SafeStr = Annotated[str, AfterValidator(_no_control_characters)]
"""A string without control characters (U+0000–U+001F) or lone surrogates."""


class Schema(BaseModel):
    """Request bodies: unknown fields are refused, values are not coerced from other types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


PasswordField = Annotated[SafeStr, Field(min_length=1, max_length=4096)]
MfaCodeField = Annotated[
    SafeStr,
    Field(
        min_length=6,
        max_length=32,
        description="a code from the authenticator app or the latest mail, or a backup code",
        examples=["123456"],
    ),
]


def exactly_one(first: object, second: object, names: str) -> None:
    if (first is None) == (second is None):
        msg = f"send exactly one of {names}"
        raise ValueError(msg)


class StepUpIn(Schema):
    """Proof for a sensitive change: the password, or a fresh MFA code (step-up)."""

    password: PasswordField | None = None
    code: MfaCodeField | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> StepUpIn:
        exactly_one(self.password, self.code, "password and code")
        return self


class OutSchema(BaseModel):
    model_config = ConfigDict(frozen=True)


class Accepted(OutSchema):
    status: str = "accepted"
    detail: str
