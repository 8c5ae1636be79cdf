from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gatehouse.modules.accounts.domain.errors import (
    InvalidDisplayName,
    InvalidEmail,
    WeakPassword,
)
from gatehouse.modules.accounts.domain.model import (
    DisplayName,
    Email,
    OneTimeToken,
    TokenPurpose,
)
from gatehouse.modules.accounts.domain.password_policy import PasswordPolicy

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ada@Example.COM ", "ada@example.com"),
        ("ＡＤＡ@example.com", "ada@example.com"),  # full-width letters fold under NFKC
        ("o'brien+tag@sub.example.org", "o'brien+tag@sub.example.org"),
    ],
)
def test_email_is_trimmed_nfkc_normalised_and_lower_cased(raw: str, expected: str) -> None:
    assert Email.parse(raw).value == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "no-at-sign",
        "@example.com",
        "ada@",
        "a b@example.com",
        "ada@example..com",
        "ada@-example.com",
        "ada@example.com.",
        "a@b@example.com",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
        "ada\u0000@example.com",
    ],
)
def test_malformed_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        Email.parse(raw)


def test_email_constructed_directly_must_already_be_normalised() -> None:
    with pytest.raises(InvalidEmail):
        Email("Ada@example.com")


def test_email_local_part_is_everything_before_the_last_at() -> None:
    assert Email.parse("ada.lovelace@example.com").local_part == "ada.lovelace"


def test_display_name_blank_means_none_and_is_trimmed() -> None:
    assert DisplayName.parse(None) is None
    assert DisplayName.parse("   ") is None
    name = DisplayName.parse("  Ada  ")
    assert name is not None
    assert name.value == "Ada"


@pytest.mark.parametrize("raw", ["x" * 101, "Ada\u200bL\u0007"])
def test_display_name_too_long_or_with_control_characters_is_refused(raw: str) -> None:
    with pytest.raises(InvalidDisplayName):
        DisplayName.parse(raw)


POLICY = PasswordPolicy(frozenset({"password1", "qwertyuiop"}))


def test_password_policy_accepts_a_long_uncommon_passphrase() -> None:
    POLICY.check("correct horse battery staple", Email.parse("ada@example.com"))


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("short", "at least 8"),
        ("x" * 1025, "at most 1024"),
        ("Password1", "too common"),  # the list is checked case-insensitively
        ("my-ada.lovelace-pw", "email"),
    ],
)
def test_password_policy_refuses(password: str, fragment: str) -> None:
    with pytest.raises(WeakPassword) as info:
        POLICY.check(password, Email.parse("Ada.Lovelace@example.com"))
    assert fragment in info.value.detail


def test_password_length_counts_code_points_not_bytes() -> None:
    POLICY.check("ééééééé€")  # 8 code points, 17 bytes
    with pytest.raises(WeakPassword):
        POLICY.check("éééé€€€")  # 7 code points


def test_password_is_checked_exactly_as_typed_without_trimming() -> None:
    POLICY.check(" password1 ")  # the padded form is not on the list


def test_short_local_part_is_not_checked_against_the_password() -> None:
    POLICY.check("aboriginal-tea-cups", Email.parse("ab@example.com"))


def test_one_time_token_is_usable_until_used_or_expired() -> None:
    token = OneTimeToken(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        purpose=TokenPurpose.VERIFY_EMAIL,
        token_hash=b"h",
        created_at=NOW,
        expires_at=NOW + timedelta(hours=24),
    )
    assert token.is_usable(NOW)
    assert not token.is_usable(NOW + timedelta(hours=24))
    token.consume(NOW)
    assert not token.is_usable(NOW)
