"""GATEHOUSE_COOKIE_SECURE: on by default; off only for development over plain http."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gatehouse.main.settings import Settings


def test_cookies_are_secure_by_default_in_every_mode() -> None:
    for env in ("dev", "test", "production"):
        assert Settings(env=env, _env_file=None).cookie_secure is True


def test_insecure_cookies_are_allowed_in_dev_and_test() -> None:
    assert Settings(env="dev", cookie_secure=False, _env_file=None).cookie_secure is False
    assert Settings(env="test", cookie_secure=False, _env_file=None).cookie_secure is False


def test_production_refuses_insecure_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_ENV", "production")
    monkeypatch.setenv("GATEHOUSE_COOKIE_SECURE", "false")
    with pytest.raises(ValidationError, match="GATEHOUSE_COOKIE_SECURE=false is for development"):
        Settings(_env_file=None)
