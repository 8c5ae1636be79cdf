"""Social login's accounts side for the e2e tests: until the OpenID flow is served, identities
are linked (or signed in) through the app's own ``accounts.identities`` provider, the facade
auth's callback will call, and the HTTP routes are exercised on what it committed."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import httpx
import jwt
import pyotp

from gatehouse.main.settings import Settings
from gatehouse.modules.accounts.application.public import (
    ExternalIdentities,
    ExternalIdentity,
    Requester,
)
from tests.e2e.conftest import PASSWORD, bearer, sql

ISSUER = "https://accounts.example.com"
IDENTITIES = "/api/v1/me/identities"
WHO = Requester(ip="198.51.100.7", user_agent="e2e")


def identities(client: httpx.AsyncClient) -> ExternalIdentities:
    """The app's ``ExternalIdentities``, as auth's container will be handed it."""
    facade: ExternalIdentities = client.app.state.container.accounts.identities()  # type: ignore[attr-defined]
    return facade


def an_identity(
    email: str | None,
    provider: str = "google",
    *,
    verified: bool = True,
    subject: str | None = None,
    name: str | None = None,
) -> ExternalIdentity:
    """A provider account as auth hands it over once the ID token checked out."""
    return ExternalIdentity(
        provider, ISSUER, subject or secrets.token_hex(8), email, verified, name
    )


def user_id_of(pair: dict[str, Any]) -> uuid.UUID:
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    return uuid.UUID(claims["sub"])


async def link(
    client: httpx.AsyncClient, pair: dict[str, Any], *providers: str
) -> list[ExternalIdentity]:
    """Link one identity of each provider to the signed-in user, as from settings."""
    linked = []
    for provider in providers:
        identity = an_identity(f"{provider}-{secrets.token_hex(4)}@example.org", provider)
        await identities(client).link(user_id_of(pair), identity, WHO)
        linked.append(identity)
    return linked


async def without_password(settings: Settings, pair: dict[str, Any]) -> None:
    """The account signs in with its identities only from now on (as one made by a social
    sign-in); its access token stays good."""
    await sql(
        settings,
        "UPDATE accounts_user SET password_hash = NULL WHERE id = $1",
        user_id_of(pair),
    )


async def backup_codes(client: httpx.AsyncClient, pair: dict[str, Any]) -> list[str]:
    """Turn TOTP on (with the password) and return the backup codes: proofs for step-up that
    work once each, whatever the time."""
    begun = await client.post(
        "/api/v1/me/mfa/totp", json={"password": PASSWORD}, headers=bearer(pair)
    )
    assert begun.status_code == 200, begun.text
    code = pyotp.TOTP(begun.json()["secret"]).now()
    confirmed = await client.post(
        "/api/v1/me/mfa/totp/confirm", json={"code": code}, headers=bearer(pair)
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["backup_codes"]
    return codes


async def listed(client: httpx.AsyncClient, pair: dict[str, Any], query: str = "") -> Any:
    response = await client.get(f"{IDENTITIES}{query}", headers=bearer(pair))
    assert response.status_code == 200, response.text
    return response.json()


async def unlink(
    client: httpx.AsyncClient, pair: dict[str, Any], provider: str, body: object = None
) -> httpx.Response:
    if body is None:
        return await client.delete(f"{IDENTITIES}/{provider}", headers=bearer(pair))
    return await client.request(
        "DELETE", f"{IDENTITIES}/{provider}", json=body, headers=bearer(pair)
    )
