"""Secrets that must never be defaults: the password pepper(s), the refresh-token key, the MFA
keys and the signing keys; and the webhook endpoints' signing secrets, checked here too.

In dev they are generated on first run under the data dir (mode 0600). Outside dev mode a
missing or weak secret refuses to start with a message that says what to set.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr

from gatehouse.main.settings import Settings
from gatehouse.modules.notifications.domain.webhooks import (
    InvalidWebhookSecret,
    WebhookEndpoint,
    WebhookSecret,
)
from gatehouse.shared.files import create_whole

MAX_WEBHOOK_SECRETS = 5
MIN_PEPPER_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 10  # refuses 'aaaa…' and repeated words
KNOWN_BAD = {"changeme", "change-me", "secret", "password", "dev", "test"}


class SecretsError(RuntimeError):
    """A secret is missing or unsafe; the message says how to fix it."""


def parse_versioned(raw: str, name: str = "GATEHOUSE_PASSWORD_PEPPERS") -> dict[int, bytes]:
    """``VERSION:SECRET[,VERSION:SECRET...]``, each secret strong enough."""
    versions: dict[int, bytes] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        version, sep, value = item.partition(":")
        if not sep or not version.isdigit() or not value:
            msg = f"{name} must look like '1:<secret>[,2:<secret>...]'"
            raise SecretsError(msg)
        _check_strength(f"{name} version {version}", value)
        versions[int(version)] = value.encode("utf-8")
    if not versions:
        msg = f"{name} is empty"
        raise SecretsError(msg)
    return versions


def _dev_secret(data_dir: Path, name: str) -> bytes:
    """A random secret generated once under ``<data_dir>/secrets`` (owner-only), for dev mode."""
    directory = data_dir / "secrets"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / name
    if not path.exists():  # processes starting together: the first one's secret is kept
        create_whole(path, secrets.token_urlsafe(48).encode("ascii"))
    return path.read_text().strip().encode("utf-8")


def _check_strength(name: str, value: str) -> None:
    weak = value.lower() in KNOWN_BAD or len(set(value)) < MIN_DISTINCT_CHARACTERS
    if len(value) < MIN_PEPPER_LENGTH or weak:
        msg = f"{name} is too weak: use at least {MIN_PEPPER_LENGTH} random characters"
        raise SecretsError(msg)


def _load_versioned(
    configured: SecretStr | None, name: str, settings: Settings, dev_file: str
) -> dict[int, bytes]:
    if configured is not None:
        return parse_versioned(configured.get_secret_value(), name)
    if not settings.is_dev:
        msg = (
            f"{name} is not set. Outside dev mode Gatehouse refuses to start "
            "without it: set it to '1:<at least 32 random characters>' and keep it secret."
        )
        raise SecretsError(msg)
    return {1: _dev_secret(settings.data_dir, dev_file)}


def load_peppers(settings: Settings) -> dict[int, bytes]:
    return _load_versioned(
        settings.password_peppers, "GATEHOUSE_PASSWORD_PEPPERS", settings, "pepper-1"
    )


def load_mfa_keys(settings: Settings) -> dict[int, bytes]:
    """Seal TOTP secrets and the mail outbox's parameters, and key the hashes of backup and
    emailed codes (each use derives its own key). Add a version to rotate: new seals and hashes
    use the highest; keep the old ones while anything uses them."""
    return _load_versioned(
        settings.mfa_encryption_keys, "GATEHOUSE_MFA_ENCRYPTION_KEYS", settings, "mfa-key-1"
    )


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


def load_webhook_endpoints(settings: Settings) -> tuple[WebhookEndpoint, ...]:
    """``GATEHOUSE_WEBHOOKS`` with its secrets parsed; a bad secret stops the start with a
    message naming the endpoint's URL and what is wrong, never the secret."""
    endpoints = []
    for webhook in settings.webhooks:
        secrets = webhook.secrets
        if not 1 <= len(secrets) <= MAX_WEBHOOK_SECRETS:
            msg = f"GATEHOUSE_WEBHOOKS: {webhook.url} has 1 to {MAX_WEBHOOK_SECRETS} secrets"
            raise SecretsError(msg)
        try:
            keys = tuple(WebhookSecret.parse(secret.get_secret_value()) for secret in secrets)
        except InvalidWebhookSecret as error:
            msg = f"GATEHOUSE_WEBHOOKS: {webhook.url}: {error}"
            raise SecretsError(msg) from None
        events = None if webhook.events is None else frozenset(webhook.events)
        endpoints.append(WebhookEndpoint(webhook.url, keys, events))
    return tuple(endpoints)
