"""Notices and the language of mail, end to end with a real SMTP server (helpers:
tests/e2e/mail_flows.py): a sign-in from a new device is reported to the owner in the request's
language, and a saved locale wins over the request's."""

from __future__ import annotations

from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, bearer, login
from tests.e2e.mail_flows import FORGOT, settled


async def test_a_sign_in_from_a_new_device_is_reported_to_the_owner(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "device")
    laptop = {"User-Agent": "Firefox/140 (laptop)"}
    credentials = {"email": email, "password": PASSWORD}
    for _ in range(2):  # the first sign-in ever, then the same device again
        assert (
            await client.post("/api/v1/auth/login", json=credentials, headers=laptop)
        ).status_code == 200
    phone = {"User-Agent": "Safari (phone)", "Accept-Language": "de"}
    assert (
        await client.post("/api/v1/auth/login", json=credentials, headers=phone)
    ).status_code == 200
    await settled(settings)
    [notice] = smtp_server.messages
    assert notice["Subject"] == "Neue Anmeldung bei Ihrem Konto"
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert "Safari (phone)" in text
    assert "203.0.113.7" in text
    assert f"{settings.public_url}/forgot-password" in text


async def test_a_saved_locale_wins_over_the_requests_language(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "locale")
    pair = await login(client, email)
    unsupported = await client.patch("/api/v1/me", json={"locale": "xx"}, headers=bearer(pair))
    assert unsupported.status_code == 422
    assert unsupported.json()["code"] == "unsupported_locale"
    saved = await client.patch("/api/v1/me", json={"locale": "de"}, headers=bearer(pair))
    assert saved.status_code == 200
    assert saved.json()["locale"] == "de"
    assert saved.json()["display_name"] is None  # not sent, not changed

    await client.post(FORGOT, json={"email": email}, headers={"Accept-Language": "en"})
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "Setzen Sie Ihr Passwort zurück"
