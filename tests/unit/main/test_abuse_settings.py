"""The rate-limit and lockout settings: refused at start when they make no sense."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gatehouse.main.settings import Settings

RATE_LIMITS = [name for name in Settings.model_fields if name.startswith("rate_limit_")]


def test_every_policy_has_a_setting() -> None:
    assert {name.removeprefix("rate_limit_") for name in RATE_LIMITS} == {
        "login", "register", "refresh", "mail_request", "token_check", "mfa",
    }  # fmt: skip


@pytest.mark.parametrize("name", RATE_LIMITS)
def test_a_rate_limit_setting_takes_the_limits_notation(name: str) -> None:
    settings = Settings(**{name: "7 per 3 minutes"}, _env_file=None)  # type: ignore[arg-type]
    assert getattr(settings, name) == "7 per 3 minutes"


@pytest.mark.parametrize("name", RATE_LIMITS)
def test_a_rate_limit_setting_refuses_anything_else(name: str) -> None:
    with pytest.raises(ValidationError, match="not a rate limit"):
        Settings(**{name: "as fast as you like"}, _env_file=None)  # type: ignore[arg-type]


def test_the_lockouts_first_wait_cannot_exceed_its_longest() -> None:
    with pytest.raises(ValidationError, match="first wait cannot exceed its longest"):
        Settings(lockout_first_seconds=600, lockout_max_seconds=300, _env_file=None)
    assert Settings(lockout_first_seconds=300, lockout_max_seconds=300, _env_file=None)
