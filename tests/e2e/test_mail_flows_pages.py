"""The pages mailed links open, end to end with a real SMTP server (helpers:
tests/e2e/mail_flows.py): opening a link spends nothing and only the page's form does, the
verification page confirms on POST only, a hostile token is escaped, and the forgot-password page
queues the same request as the API."""

from __future__ import annotations

from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, login, token_in, unique_email
from tests.e2e.mail_flows import FORGOT, FORM_HEADERS, NEW_PASSWORD


async def test_opening_a_link_does_not_spend_it_and_the_page_form_does(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "pages")
    await client.post(FORGOT, json={"email": email})
    [mail] = await smtp_server.wait_for(1)
    link = httpx.URL(
        next(
            line
            for line in mail.get_body(preferencelist=("plain",)).get_content().splitlines()
            if "token=" in line
        ).strip()
    )
    assert link.path == "/reset-password"
    token = link.params["token"]

    for _ in range(3):  # a link scanner, a preview, the user
        opened = await client.get(f"{link.path}?{link.query.decode()}")
        assert opened.status_code == 200
        assert opened.headers["content-type"].startswith("text/html")
        assert f'name="token" value="{token}"' in opened.text
        assert "form-action 'self'" in opened.headers["content-security-policy"]
        assert opened.headers["referrer-policy"] == "no-referrer"
        assert opened.headers["cache-control"] == "no-store"

    weak = await client.post(
        "/reset-password",
        content=f"token={token}&new_password=password",
        headers=FORM_HEADERS,
    )
    assert weak.status_code == 422
    assert 'class="error"' in weak.text
    done = await client.post(
        "/reset-password",
        content=f"token={token}&new_password={NEW_PASSWORD.replace(' ', '+')}",
        headers=FORM_HEADERS,
    )
    assert done.status_code == 200
    assert "Password changed" in done.text
    await login(client, email, NEW_PASSWORD)
    reused = await client.post(
        "/reset-password",
        content=f"token={token}&new_password=another+long+passphrase",
        headers=FORM_HEADERS,
    )
    assert reused.status_code == 400


async def test_the_verification_page_confirms_on_post_only(
    mailing: httpx.AsyncClient, smtp_server: Any
) -> None:
    client, email = mailing, unique_email("verify-page")
    await client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    [mail] = await smtp_server.wait_for(1)
    token = token_in(mail)
    assert (await client.get(f"/verify-email?token={token}")).status_code == 200
    not_yet = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert not_yet.json()["code"] == "email_not_verified"  # opening the page changed nothing
    confirmed = await client.post("/verify-email", content=f"token={token}", headers=FORM_HEADERS)
    assert confirmed.status_code == 200
    assert "Address confirmed" in confirmed.text
    await login(client, email)


async def test_a_hostile_token_in_a_link_is_escaped(mailing: httpx.AsyncClient) -> None:
    page = await mailing.get('/reset-password?token="><script>alert(1)</script>')
    assert "<script>" not in page.text
    assert "&quot;&gt;&lt;script&gt;" in page.text


async def test_the_forgot_page_queues_the_same_request_as_the_api(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "forgot-page")
    assert (await client.get("/forgot-password")).status_code == 200
    sent = await client.post("/forgot-password", content=f"email={email}", headers=FORM_HEADERS)
    assert sent.status_code == 200
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "Reset your password"
    wrong_type = await client.post("/forgot-password", json={"email": email})
    assert wrong_type.status_code == 400
