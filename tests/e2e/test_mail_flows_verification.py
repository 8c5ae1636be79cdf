"""Verifying an address by the mailed code, end to end with a real SMTP server: the code
verifies instead of the link (the two are one token), five wrong codes end both, and malformed
verification bodies are 422."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PASSWORD, token_in, unique_email


def code_in(message: Any) -> str:
    text = message.get_body(preferencelist=("plain",)).get_content()
    [code] = re.findall(r"\b(\d{6})\b", text)
    return str(code)


async def test_the_mailed_code_verifies_the_address_instead_of_the_link(
    mailing: httpx.AsyncClient, smtp_server: Any
) -> None:
    client, email = mailing, unique_email("code")
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    [mail] = await smtp_server.wait_for(1)
    code = code_in(mail)
    assert "<strong" in mail.get_body(preferencelist=("html",)).get_content()

    wrong = "000000" if code != "000000" else "111111"
    refused = await client.post("/api/v1/auth/verify-email", json={"email": email, "code": wrong})
    assert refused.status_code == 400
    assert refused.json()["code"] == "token_invalid"
    stranger = await client.post(
        "/api/v1/auth/verify-email", json={"email": unique_email("nobody"), "code": code}
    )
    assert stranger.status_code == 400
    verified = await client.post("/api/v1/auth/verify-email", json={"email": email, "code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    again = await client.post("/api/v1/auth/verify-email", json={"token": token_in(mail)})
    assert again.status_code == 400  # link and code are one token: used once


async def test_five_wrong_codes_end_the_link_and_the_code(
    mailing: httpx.AsyncClient, smtp_server: Any
) -> None:
    client, email = mailing, unique_email("guess")
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    [mail] = await smtp_server.wait_for(1)
    code = code_in(mail)
    wrong = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 6)]
    for guess in wrong:
        response = await client.post(
            "/api/v1/auth/verify-email", json={"email": email, "code": guess}
        )
        assert response.status_code == 400
    for body in ({"email": email, "code": code}, {"token": token_in(mail)}):
        assert (await client.post("/api/v1/auth/verify-email", json=body)).status_code == 400


@pytest.mark.parametrize(
    "body",
    [{"email": "a@example.com", "code": "12345"}, {"email": "a@example.com", "code": "12345a"}, {}],
)
async def test_malformed_verification_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, str]
) -> None:
    response = await client.post("/api/v1/auth/verify-email", json=body)
    assert response.status_code == 422
