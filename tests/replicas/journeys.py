"""Journeys across several ``gatehouse serve`` processes on one database and one Redis, as a
client behind a load balancer makes them: each step may land on another replica.

Every wait is on a condition with a deadline (``until``); nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from gatehouse.modules.auth.adapters.keys import generate_key
from gatehouse.shared.pg import asyncpg_dsn
from gatehouse.testing.mail import MailSink

API = "/api/v1"
PASSWORD = "correct horse battery staple 42"
# Every request comes from 127.0.0.1; the limits are not what these tests are about.
UNLIMITED = {
    "GATEHOUSE_RATE_LIMIT_LOGIN": "100000/minute",
    "GATEHOUSE_RATE_LIMIT_REGISTER": "100000/hour",
    "GATEHOUSE_RATE_LIMIT_REFRESH": "100000/minute",
    "GATEHOUSE_RATE_LIMIT_MAIL_REQUEST": "100000/hour",
    "GATEHOUSE_RATE_LIMIT_TOKEN_CHECK": "100000/minute",
    "GATEHOUSE_LOCKOUT_FREE_ATTEMPTS": "100000",
}


def replica_environment(directory: Path, smtp_url: str) -> dict[str, str]:
    """What every replica and worker shares, as in production: the secrets in the environment
    (each process generating its own dev secret would split them), one keys directory, read
    again every second, and the mail relay."""
    keys = directory / "keys"
    generate_key(keys)
    return {
        "GATEHOUSE_PASSWORD_PEPPERS": f"1:{secrets.token_urlsafe(48)}",
        "GATEHOUSE_REFRESH_TOKEN_KEY": secrets.token_urlsafe(48),
        "GATEHOUSE_MFA_ENCRYPTION_KEYS": f"1:{secrets.token_urlsafe(48)}",
        "GATEHOUSE_KEYS_DIR": str(keys),
        "GATEHOUSE_KEYS_RELOAD_SECONDS": "1",
        "GATEHOUSE_SMTP_URL": smtp_url,
        "GATEHOUSE_OUTBOX_POLL_SECONDS": "0.5",
        **UNLIMITED,
    }


async def until(check: Callable[[], Awaitable[bool]], what: str, *, within: float = 30.0) -> None:
    """Poll ``check`` until it is true; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            msg = f"{what}: not within {within:g} s"
            raise AssertionError(msg)
        await asyncio.sleep(0.1)  # polling interval, not a wait for the condition


def unique_email(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.com"


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def kid_of(access_token: str) -> str:
    header = access_token.split(".", 1)[0]
    decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    kid: str = decoded["kid"]
    return kid


def _ok(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json() if response.content else None


async def register_and_verify(
    http: httpx.AsyncClient, bases: Sequence[str], sink: MailSink, email: str
) -> None:
    """Register on the first replica; the link in the mail (sent by a worker) is followed on
    the second."""
    body = {"email": email, "password": PASSWORD}
    _ok(await http.post(f"{bases[0]}{API}/auth/register", json=body), 202)
    [mail] = await sink.wait_for(1, to=email, timeout=30)
    token = {"token": sink.token_in(mail)}
    _ok(await http.post(f"{bases[1 % len(bases)]}{API}/auth/verify-email", json=token), 200)


async def login(http: httpx.AsyncClient, base: str, email: str) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD}
    pair: dict[str, Any] = _ok(await http.post(f"{base}{API}/auth/login", json=body), 200)
    return pair


async def refresh(http: httpx.AsyncClient, base: str, pair: dict[str, Any]) -> httpx.Response:
    return await http.post(
        f"{base}{API}/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )


async def me(http: httpx.AsyncClient, base: str, pair: dict[str, Any]) -> int:
    return (await http.get(f"{base}{API}/me", headers=bearer(pair))).status_code


async def sign_in_refresh_revoke(http: httpx.AsyncClient, bases: Sequence[str], email: str) -> None:
    """Sign in on one replica, refresh on another, sign out on a third: at once, every
    replica refuses the access token and the refresh token."""
    first, second, third = bases[0], bases[1 % len(bases)], bases[2 % len(bases)]
    signed_in = await login(http, first, email)
    pair: dict[str, Any] = _ok(await refresh(http, second, signed_in), 200)
    assert [await me(http, base, pair) for base in bases] == [200] * len(bases)
    logout = await http.post(
        f"{third}{API}/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair),
    )
    _ok(logout, 204)
    # No wait: the first request after the 204, on every replica.
    assert [await me(http, base, pair) for base in bases] == [401] * len(bases)
    refused = [(await refresh(http, base, pair)).status_code for base in bases]
    assert refused == [401] * len(bases)


async def revoke_one_session(
    http: httpx.AsyncClient, bases: Sequence[str], email: str
) -> dict[str, Any]:
    """Two devices; the second signs the first out (``DELETE /me/sessions/{id}``) on another
    replica. Returns the revoked device's pair, refused everywhere at once; the other device
    keeps working everywhere."""
    laptop = await login(http, bases[0], email)
    phone = await login(http, bases[1 % len(bases)], email)
    listed = _ok(await http.get(f"{bases[0]}{API}/me/sessions", headers=bearer(phone)), 200)
    sessions = listed["items"] if isinstance(listed, dict) else listed
    [laptop_session] = [session for session in sessions if not session.get("current")]
    url = f"{bases[-1]}{API}/me/sessions/{laptop_session['id']}"
    _ok(await http.delete(url, headers=bearer(phone)), 204)
    assert [await me(http, base, laptop) for base in bases] == [401] * len(bases)
    assert [(await refresh(http, base, laptop)).status_code for base in bases] == [401] * len(bases)
    assert [await me(http, base, phone) for base in bases] == [200] * len(bases)
    return laptop


async def outbox_statuses(database_url: str, recipients: Sequence[str]) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT status FROM notifications_outbox WHERE recipient = ANY($1::text[])",
            list(recipients),
        )
    finally:
        await conn.close()
    return [row["status"] for row in rows]


async def mails_sent_once(
    http: httpx.AsyncClient,
    bases: Sequence[str],
    sink: MailSink,
    database_url: str,
    *,
    count: int = 6,
) -> None:
    """``count`` registrations spread over the replicas; with two workers dispatching, each
    address gets its verification mail exactly once. Counted once every outbox row is
    ``sent``: a row is marked in the transaction that holds it while its mail goes out, so
    after that no worker can send it again."""
    emails = [unique_email("once") for _ in range(count)]
    for index, email in enumerate(emails):
        body = {"email": email, "password": PASSWORD}
        response = await http.post(f"{bases[index % len(bases)]}{API}/auth/register", json=body)
        _ok(response, 202)

    async def all_sent() -> bool:
        statuses = await outbox_statuses(database_url, emails)
        return len(statuses) == count and set(statuses) == {"sent"}

    await until(all_sent, f"{count} verification mails sent")
    assert sorted(len(sink.to(email)) for email in emails) == [1] * count


async def rotation_seen_by_all(
    http: httpx.AsyncClient, bases: Sequence[str], email: str, rotate: Callable[[], str]
) -> None:
    """``rotate()`` (``gatehouse keys rotate``) adds a key and returns its kid: every replica
    publishes it, then signs with it, and every replica accepts what any other signed; a
    token signed with the old key stays good."""
    before = await login(http, bases[0], email)
    new_kid = rotate()
    assert kid_of(before["access_token"]) != new_kid

    async def published_everywhere() -> bool:
        answers = [await http.get(f"{base}/.well-known/jwks.json") for base in bases]
        return all(new_kid in {key["kid"] for key in a.json()["keys"]} for a in answers)

    await until(published_everywhere, "the new key in every replica's JWKS")
    signed: dict[str, Any] = {}

    async def signs_with_the_new_key() -> bool:
        signed["pair"] = await login(http, bases[-1], email)
        return kid_of(signed["pair"]["access_token"]) == new_kid

    await until(signs_with_the_new_key, "a token signed with the new key")
    assert [await me(http, base, signed["pair"]) for base in bases] == [200] * len(bases)
    assert [await me(http, base, before) for base in bases] == [200] * len(bases)
