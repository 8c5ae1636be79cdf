"""Changing the email address, end to end with a real SMTP server (helpers:
tests/e2e/mail_flows.py): the old address keeps working until the new one confirms, a taken
address gets the same answer and no mail, and a password reset cancels a pending change."""

from __future__ import annotations

from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, bearer, login, token_in, unique_email
from tests.e2e.mail_flows import FORGOT, FORM_HEADERS, NEW_PASSWORD, RESET, settled
from tests.support.clock import FixedClock


async def test_changing_the_email_keeps_the_old_address_until_the_new_one_confirms(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "move")
    new_email = unique_email("moved")
    pair = await login(client, email)
    wrong = await client.post(
        "/api/v1/me/email",
        json={"new_email": new_email, "password": "not it"},
        headers=bearer(pair),
    )
    assert wrong.status_code == 403
    asked = await client.post(
        "/api/v1/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers=bearer(pair),
    )
    assert asked.status_code == 202
    mails = {m["To"]: m for m in await smtp_server.wait_for(2)}
    assert mails[email]["Subject"] == "A change of your email address was requested"
    assert new_email in mails[email].get_body(preferencelist=("plain",)).get_content()
    confirm = mails[new_email]
    assert confirm["Subject"] == "Confirm your new email address"
    await login(client, email)  # the old address still signs in

    opened = await client.get(f"/confirm-email?token={token_in(confirm)}")
    assert opened.status_code == 200  # opening the link changes nothing
    await login(client, email)
    done = await client.post(
        "/api/v1/me/email/confirm", json={"token": token_in(confirm)}, headers=bearer(pair)
    )
    assert done.status_code == 200, done.text
    assert done.json()["email"] == new_email
    assert done.json()["email_verified"] is True
    old = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    await login(client, new_email)
    [*_, changed] = await smtp_server.wait_for(3)
    assert (changed["To"], changed["Subject"]) == (email, "Your email address was changed")
    again = await client.post(
        "/api/v1/me/email/confirm", json={"token": token_in(confirm)}, headers=bearer(pair)
    )
    assert again.status_code == 400


async def test_a_taken_address_gets_the_same_answer_and_no_mail(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "mover")
    taken = await account(client, settings, smtp_server, "taken")
    free = unique_email("free")
    pair = await login(client, email)

    def ask(address: str) -> Any:
        return client.post(
            "/api/v1/me/email",
            json={"new_email": address, "password": PASSWORD},
            headers=bearer(pair),
        )

    to_taken, to_free = await ask(taken), await ask(free)
    assert (to_taken.status_code, to_taken.content) == (to_free.status_code, to_free.content)
    await settled(settings)
    recipients = sorted(m["To"] for m in smtp_server.messages)
    assert recipients == sorted([email, email, free])  # two notices, one confirmation


async def test_a_reset_cancels_a_pending_email_change(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "cancel")
    new_email = unique_email("never")
    pair = await login(client, email)
    await client.post(
        "/api/v1/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers=bearer(pair),
    )
    confirm = {m["To"]: m for m in await smtp_server.wait_for(2)}[new_email]
    await client.post(FORGOT, json={"email": email})
    [*_, reset] = await smtp_server.wait_for(3)
    assert (
        await client.post(RESET, json={"token": token_in(reset), "new_password": NEW_PASSWORD})
    ).status_code == 204
    late = await client.post(
        "/confirm-email", content=f"token={token_in(confirm)}", headers=FORM_HEADERS
    )
    assert late.status_code == 400
    await login(client, email, NEW_PASSWORD)
