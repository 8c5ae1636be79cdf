"""Pydantic building blocks every module's HTTP schemas use."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


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


class OutSchema(BaseModel):
    model_config = ConfigDict(frozen=True)


class Accepted(OutSchema):
    status: str = "accepted"
    detail: str
