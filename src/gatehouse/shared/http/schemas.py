"""Pydantic building blocks every module's HTTP schemas use."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue


def _no_control_characters(value: str) -> str:
    for ch in value:
        code = ord(ch)
        if code < 0x20 or 0xD800 <= code <= 0xDFFF:
            msg = "control characters and lone surrogates are not allowed"
            raise ValueError(msg)
    return value


class _NoControlCharactersInSchema:
    """Says in the JSON schema what ``_no_control_characters`` checks (a lone surrogate cannot
    be sent as UTF-8 at all)."""

    PATTERN = r"^[^\u0000-\u001F]*$"

    def __get_pydantic_json_schema__(
        self, core_schema: Any, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", self.PATTERN)
        return schema


SafeStr = Annotated[str, AfterValidator(_no_control_characters), _NoControlCharactersInSchema()]
"""A string without control characters (U+0000–U+001F) or lone surrogates."""

SixDigitCode = Annotated[
    str,
    Field(min_length=6, max_length=6, pattern=r"^[0-9]{6}$"),
    AfterValidator(_no_control_characters),
]
"""A six-digit code from a mail (its pattern says what the JSON schema needs)."""

_NOT = r"@\s\x00-\x1f\x7f"  # never in a part: the separator, spaces, control characters
_LABEL = rf"[^{_NOT}.\-]([^{_NOT}.]*[^{_NOT}.\-])?"
# Accounts' address rule (its Email value object; 422 invalid_email), for the JSON schema: one
# @, a local part of at most 64 characters (the lookahead) without "..", a domain of
# dot-separated labels that do not start or end with "-"; spaces around it are trimmed. Not
# `format: email`, which is stricter than what is accepted.
EMAIL_PATTERN = rf"^ *(?![^@]{{65}})\.?[^{_NOT}.]+(\.[^{_NOT}.]+)*\.?@{_LABEL}(\.{_LABEL})* *$"
EmailField = Annotated[
    SafeStr,
    Field(
        min_length=1,
        max_length=320,
        examples=["ada@example.com"],
        # the value object's limit is 254 once trimmed (a longer one is 422 invalid_email)
        json_schema_extra={"pattern": EMAIL_PATTERN, "maxLength": 254},
    ),
]
"""An email address in a request: every module's address fields (one rule, accounts')."""


class Schema(BaseModel):
    """Request bodies: unknown fields are refused, values are not coerced from other types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


PasswordField = Annotated[SafeStr, Field(min_length=1, max_length=4096)]
NewPasswordField = Annotated[
    PasswordField,
    Field(
        json_schema_extra={"minLength": 8, "maxLength": 1024},
        description="8 to 1024 characters, not a common or breached password, not containing "
        "the address's local part (else 422 weak_password)",
    ),
]
"""A password being chosen: the policy's lengths in the JSON schema; the policy itself checks
them (422 ``weak_password``, with its own message)."""
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


def at_most_one(first: object, second: object, names: str) -> None:
    if first is not None and second is not None:
        msg = f"send exactly one of {names}"
        raise ValueError(msg)


def sent(*names: str) -> dict[str, Any]:
    """JSON schema: these fields are present and not null (``null`` counts as not sent)."""
    return {
        "required": list(names),
        "properties": {name: {"not": {"type": "null"}} for name in names},
    }


def one_of(first: str, second: str) -> dict[str, Any]:
    """JSON schema: what ``exactly_one`` checks of two optional fields."""
    return {"oneOf": [sent(first), sent(second)]}


def at_most_one_of(first: str, second: str) -> dict[str, Any]:
    """JSON schema: what ``at_most_one`` checks of two optional fields."""
    return {"not": sent(first, second)}


class StepUpIn(Schema):
    """Proof for a sensitive change: the password, or a fresh MFA code (step-up)."""

    model_config = ConfigDict(json_schema_extra=one_of("password", "code"))

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
