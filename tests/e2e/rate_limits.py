"""What the rate-limit tests share: the paths, the contract's limits, a client address."""

from __future__ import annotations

import secrets
from typing import Any

from gatehouse.main.settings import Settings

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
REFRESH = "/api/v1/auth/refresh"
TOKEN = "/api/v1/auth/token"
DEFAULTS = Settings.model_fields
RATE_LIMITS = [name for name in DEFAULTS if name.startswith("rate_limit_")]


def contract_limits() -> dict[str, Any]:
    """The defaults users run, behind a trusted proxy so each test is its own client."""
    return {
        **{name: DEFAULTS[name].default for name in RATE_LIMITS},
        "trusted_proxies": ("203.0.113.7",),
    }


def a_client_ip() -> str:
    """A client address of the test's own (sent as ``X-Forwarded-For`` by the trusted proxy)."""
    return f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
