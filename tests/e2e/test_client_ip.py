"""The client's address, as sessions and audit events record it: the socket peer, unless the
peer is a trusted proxy (GATEHOUSE_TRUSTED_PROXIES); then the right-most X-Forwarded-For hop
that is not one. The test client connects from 203.0.113.7."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, ClientFactory, bearer, unique_email, verified_user

PEER = "203.0.113.7"


async def _recorded_ips(client: httpx.AsyncClient, settings: Settings, forwarded: str) -> set[Any]:
    email = unique_email("ip")
    await verified_user(client, settings, email)
    response = await client.post(
        "/api/v1/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={"X-Forwarded-For": forwarded},
    )
    assert response.status_code == 200, response.text
    pair = response.json()
    [session] = (await client.get("/api/v1/me/sessions", headers=bearer(pair))).json()["items"]
    events = (await client.get("/api/v1/me/audit-events", headers=bearer(pair))).json()["items"]
    signed_in = [event for event in events if event["type"] == "auth.signed_in"]
    return {session["ip"], *(event["ip"] for event in signed_in)}


async def test_without_a_trusted_proxy_forwarded_headers_are_ignored(
    make_client: ClientFactory, settings: Settings
) -> None:
    async with make_client() as client:
        assert await _recorded_ips(client, settings, "198.51.100.9") == {PEER}


@pytest.mark.parametrize(
    ("forwarded", "client_ip"),
    [
        ("198.51.100.9", "198.51.100.9"),
        # A client may send its own X-Forwarded-For; the proxy appends the real peer, and only
        # the right-most hop that is not a trusted proxy counts.
        ("1.2.3.4, 198.51.100.9", "198.51.100.9"),
        ("1.2.3.4, 198.51.100.9, 203.0.113.20", "198.51.100.9"),
    ],
)
async def test_behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(
    make_client: ClientFactory, settings: Settings, forwarded: str, client_ip: str
) -> None:
    async with make_client(trusted_proxies=("203.0.113.0/24",)) as client:
        assert await _recorded_ips(client, settings, forwarded) == {client_ip}
