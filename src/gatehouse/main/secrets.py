"""Secrets that must never be defaults: the password pepper(s) and signing keys.

In dev they are generated on first run under the data dir (mode 0600). Outside dev mode a
missing or weak secret refuses to start with a message that says what to set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from gatehouse.main.settings import Settings

MIN_PEPPER_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10  # refuses 'aaaa…' and repeated words
KNOWN_BAD = {"changeme", "change-me", "secret", "password", "dev", "test"}


class SecretsError(RuntimeError):
    """A secret is missing or unsafe; the message says how to fix it."""


def parse_peppers(raw: str) -> dict[int, bytes]:
    peppers: dict[int, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        version, sep, value = item.partition(":")
        if not sep or not version.isdigit() or not value:
            msg = "GATEHOUSE_PASSWORD_PEPPERS must look like '1:<secret>[,2:<secret>...]'"
            raise SecretsError(msg)
        _check_strength(f"pepper version {version}", value)
        peppers[int(version)] = value.encode("utf-8")
    if not peppers:
        msg = "GATEHOUSE_PASSWORD_PEPPERS is empty"
        raise SecretsError(msg)
    return peppers


def _dev_secret(data_dir: Path, name: str) -> bytes:
    """A random secret generated once under ``<data_dir>/secrets`` (owner-only), for dev mode."""
    directory = data_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode("utf-8")


def _check_strength(name: str, value: str) -> None:
    weak = value.lower() in KNOWN_BAD or len(set(value)) < MIN_DISTINCT_CHARACTERS
    if len(value) < MIN_PEPPER_LENGTH or weak:
        msg = f"{name} is too weak: use at least {MIN_PEPPER_LENGTH} random characters"
        raise SecretsError(msg)


def load_peppers(settings: Settings) -> dict[int, bytes]:
    if settings.password_peppers is not None:
        return parse_peppers(settings.password_peppers.get_secret_value())
    if not settings.is_dev:
        msg = (
            "GATEHOUSE_PASSWORD_PEPPERS is not set. Outside dev mode Gatehouse refuses to start "
            "without it: set it to '1:<at least 32 random characters>' and keep it secret."
        )
        raise SecretsError(msg)
    return {1: _dev_secret(settings.data_dir, "pepper-1")}


def load_refresh_token_key(settings: Settings) -> bytes:
    if settings.refresh_token_key is not None:
        value = settings.refresh_token_key.get_secret_value()
        _check_strength("GATEHOUSE_REFRESH_TOKEN_KEY", value)
        return value.encode("utf-8")
    if not settings.is_dev:
        msg = (
            "GATEHOUSE_REFRESH_TOKEN_KEY is not set. Outside dev mode Gatehouse refuses to start "
            "without it: set it to at least 32 random characters and keep it secret."
        )
        raise SecretsError(msg)
    return _dev_secret(settings.data_dir, "refresh-token-key")
