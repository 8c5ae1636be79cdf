"""The JSON schemas of request bodies say what their validators check, no more and no less:
what the schema admits is accepted and what it refuses is refused (the fuzzer relies on it)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, TypeAdapter, ValidationError

from gatehouse.modules.accounts.application.public import valid_email
from gatehouse.modules.accounts.entrypoints.http.schemas import (
    AdminUpdateUserIn,
    ChangeEmailIn,
    ChangePasswordIn,
    DeleteAccountIn,
    UnlinkIdentityIn,
)
from gatehouse.modules.organizations.entrypoints.http.schemas import InviteIn
from gatehouse.shared.http.schemas import EMAIL_PATTERN, EmailField, StepUpIn

EMAIL_SCHEMA = Draft202012Validator(TypeAdapter(EmailField).json_schema())
ABSENT = object()


@settings(max_examples=300, deadline=None, database=None)
@given(st.from_regex(EMAIL_PATTERN, fullmatch=True, alphabet=st.characters(codec="ascii")))
def test_every_address_the_schema_admits_is_one_accounts_accepts(address: str) -> None:
    if EMAIL_SCHEMA.is_valid(address):
        assert valid_email(address) is not None


@pytest.mark.parametrize(
    "address",
    [
        "x" * 65 + "@example.com",
        "a..b@example.com",
        "ada@-example.com",
        "ada@example.com.",
        "a b@example.com",
        "@example.com",
        "ada@",
        "a@" + "b" * 250 + ".com",
    ],
)
def test_addresses_accounts_refuses_the_schema_refuses(address: str) -> None:
    assert valid_email(address) is None
    assert not EMAIL_SCHEMA.is_valid(address)


@pytest.mark.parametrize("address", ["x" * 64 + "@example.com", "  ada@example.com  ", "a@b"])
def test_addresses_accounts_accepts_the_schema_admits(address: str) -> None:
    assert valid_email(address) is not None
    assert EMAIL_SCHEMA.is_valid(address)


def test_invitations_take_the_same_address_field_as_accounts() -> None:
    invitation = InviteIn.model_json_schema()["properties"]["email"]
    assert invitation["pattern"] == EMAIL_PATTERN
    assert invitation["maxLength"] == EMAIL_SCHEMA.schema["maxLength"]


PROOF = {"password": "correct horse", "current_password": "correct horse", "code": "123456"}


def _bodies(fields: dict[str, Any], *optional: str) -> list[dict[str, Any]]:
    """Every body with each of ``optional`` absent, null or set, beside ``fields``."""
    bodies = []
    for choice in itertools.product((ABSENT, None, "set"), repeat=len(optional)):
        body = dict(fields)
        for name, value in zip(optional, choice, strict=True):
            if value is not ABSENT:
                body[name] = PROOF.get(name, ["user"]) if value == "set" else None
        bodies.append(body)
    return bodies


def _accepts(model: type[BaseModel], body: dict[str, Any]) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("model", "bodies"),
    [
        (StepUpIn, _bodies({}, "password", "code")),
        (DeleteAccountIn, _bodies({}, "password", "code")),
        (ChangeEmailIn, _bodies({"new_email": "ada@example.com"}, "password", "code")),
        (
            ChangePasswordIn,
            _bodies({"new_password": "a new pass phrase"}, "current_password", "code"),
        ),
        (UnlinkIdentityIn, _bodies({}, "password", "code")),
        (AdminUpdateUserIn, _bodies({}, "roles", "password", "code")),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_a_proof_body_is_accepted_exactly_when_its_schema_admits_it(
    model: type[BaseModel], bodies: list[dict[str, Any]]
) -> None:
    schema = Draft202012Validator(model.model_json_schema())
    disagreements = [body for body in bodies if schema.is_valid(body) != _accepts(model, body)]
    assert disagreements == []
