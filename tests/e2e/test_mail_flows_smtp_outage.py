"""The outbox through an SMTP outage, end to end (helpers: tests/e2e/mail_flows.py): a reset or
a sign-up requested while the SMTP server is down is answered normally, and its mail is retried
and arrives exactly once when the server is back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, sql, token_in, unique_email
from tests.e2e.mail_flows import FORGOT, NEW_PASSWORD, RESET, settled
from tests.support.clock import FixedClock


async def test_a_reset_requested_while_smtp_is_down_arrives_once_when_it_is_back(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "smtp-down")
    smtp_server.stop()
    assert (await client.post(FORGOT, json={"email": email})).status_code == 202
    for _ in range(200):  # the first attempt fails and is scheduled again
        attempts = await sql(
            settings,
            "SELECT max(attempts) FROM notifications_outbox WHERE status = 'pending'",
        )
        if attempts:
            break
        await asyncio.sleep(0.05)
    assert attempts == 1
    smtp_server.start()
    clock.advance(timedelta(hours=1))  # past any backoff
    [mail] = await smtp_server.wait_for(1)
    await settled(settings)
    assert len(smtp_server.messages) == 1
    done = await client.post(RESET, json={"token": token_in(mail), "new_password": NEW_PASSWORD})
    assert done.status_code == 204


async def test_signing_up_while_smtp_is_down_answers_normally_and_mails_once_it_is_back(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client, email = mailing, unique_email("signup-down")
    smtp_server.stop()
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202
    for _ in range(200):  # the first attempt fails and is scheduled again
        if await sql(settings, "SELECT max(attempts) FROM notifications_outbox"):
            break
        await asyncio.sleep(0.05)
    smtp_server.start()
    clock.advance(timedelta(hours=1))  # past any backoff
    [mail] = await smtp_server.wait_for(1)
    await settled(settings)
    assert len(smtp_server.messages) == 1
    verified = await client.post("/api/v1/auth/verify-email", json={"token": token_in(mail)})
    assert verified.status_code == 200
