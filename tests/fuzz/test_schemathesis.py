"""Schemathesis, every check on every operation, against a real ``gatehouse serve``: once
signed in as a real user (bearer token) and once without credentials. The configuration, with
every deliberate deviation declared once, is ``schemathesis.toml`` beside this file."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gatehouse.testing.app import testing_settings as settings_for
from gatehouse.testing.infra import Infra
from gatehouse.testing.users import UserFactory
from tests.support.processes import gatehouse_serve

pytestmark = pytest.mark.xdist_group("fuzz")

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
# The fuzzer calls from 127.0.0.1 only: the per-IP limits would turn most of its requests into
# 429s and measure nothing else (the limits have their own tests).
UNLIMITED = {
    "GATEHOUSE_RATE_LIMIT_LOGIN": "1000000/minute",
    "GATEHOUSE_RATE_LIMIT_REGISTER": "1000000/hour",
    "GATEHOUSE_RATE_LIMIT_REFRESH": "1000000/minute",
    "GATEHOUSE_RATE_LIMIT_MAIL_REQUEST": "1000000/hour",
    "GATEHOUSE_RATE_LIMIT_TOKEN_CHECK": "1000000/minute",
    "GATEHOUSE_LOCKOUT_FREE_ATTEMPTS": "1000000",
}


@pytest.fixture(scope="module")
def served(
    infra: Infra, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Path]]:
    """The server's base URL, a signed-in user's access token, and a directory for reports."""
    settings = settings_for(
        database_url=infra.database_url, redis_url=infra.redis_url, data_dir=data_dir
    )
    directory = tmp_path_factory.mktemp("fuzz")
    with gatehouse_serve(settings, directory, "fuzz", **UNLIMITED) as base:

        async def sign_in() -> str:
            async with httpx.AsyncClient(base_url=base) as client:
                user = await UserFactory(client, settings)()
                return user.access_token

        yield base, asyncio.run(sign_in()), directory


def schemathesis(base: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/openapi.json",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_schemathesis_finds_nothing_without_credentials(served: tuple[str, str, Path]) -> None:
    base, _, _ = served
    result = schemathesis(base)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]


def test_schemathesis_finds_nothing_signed_in(served: tuple[str, str, Path]) -> None:
    base, token, _ = served
    # Signing out would end the session under test: those two run without credentials only.
    result = schemathesis(
        base,
        "--header",
        f"Authorization: Bearer {token}",
        "--exclude-operation-id",
        "auth_logout",
        "--exclude-operation-id",
        "auth_logout_all",
    )
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
