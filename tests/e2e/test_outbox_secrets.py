"""The outbox keeps a mail's link and code sealed while the mail waits (ADR 0027), end to end:
through an SMTP outage, and across a rotation of the keys that seal them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from gatehouse.main.settings import Settings
from gatehouse.testing import code_in
from tests.e2e.conftest import PASSWORD, ClientFactory, sql, token_in, unique_email
from tests.support.clock import FixedClock

OLD_KEY, NEW_KEY = "o1d-key-" + "Q7wZ" * 8, "n3w-key-" + "Jx5R" * 8
VERIFY = "/api/v1/auth/verify-email"


async def raw_row(settings: Settings, email: str) -> str:
    """The outbox row of ``email`` as PostgreSQL prints it: what anyone with read access sees."""
    row: str = await sql(
        settings, "SELECT o::text FROM notifications_outbox o WHERE recipient = $1", email
    )
    return row


async def register(client: httpx.AsyncClient, email: str) -> None:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 202, response.text


async def test_while_smtp_is_down_the_waiting_mail_holds_neither_its_link_nor_its_code(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client, email = mailing, unique_email("sealed")
    smtp_server.stop()
    await register(client, email)
    for _ in range(200):  # wait (bounded) for the first attempt to fail
        if "unreachable" in await raw_row(settings, email):
            break
        await asyncio.sleep(0.05)
    waiting = await raw_row(settings, email)
    assert "unreachable" in waiting

    smtp_server.start()
    clock.advance(timedelta(hours=1))  # past any backoff
    [mail] = await smtp_server.wait_for(1, to=email)
    token, code = token_in(mail), code_in(mail)

    assert token not in waiting
    assert code not in waiting
    assert '"v1:' in waiting  # sealed under the one key this app has
    verified = await client.post(VERIFY, json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email_verified"] is True
    for _ in range(200):  # the row is marked sent just after the mail arrived
        if '"v1:' not in (done := await raw_row(settings, email)):
            break
        await asyncio.sleep(0.05)
    assert token not in done
    assert '"v1:' not in done  # nor its sealed form once sent


async def test_a_mail_sealed_before_a_key_rotation_is_sent_after_it(
    make_client: ClientFactory, smtp_server: Any, settings: Settings
) -> None:
    await sql(settings, "DELETE FROM notifications_outbox")  # only this test's mail to send
    before, after = unique_email("before-rotation"), unique_email("after-rotation")
    old = {"mfa_encryption_keys": SecretStr(f"1:{OLD_KEY}"), "smtp_url": smtp_server.url}
    async with make_client(**old) as client:  # queues, sends nothing (no dispatcher)
        await register(client, before)
    assert '"v1:' in await raw_row(settings, before)

    rotated = {**old, "mfa_encryption_keys": SecretStr(f"1:{OLD_KEY},2:{NEW_KEY}")}
    async with make_client(**rotated) as client:
        await register(client, after)
        assert '"v2:' in await raw_row(settings, after)  # new mail: the new key
        dispatch = client.app.state.container.notifications.dispatch()  # type: ignore[attr-defined]
        assert (await dispatch()).sent == 2

        [mail] = await smtp_server.wait_for(1, to=before)
        verified = await client.post(VERIFY, json={"email": before, "code": code_in(mail)})
        assert verified.status_code == 200, verified.text
        [mail] = await smtp_server.wait_for(1, to=after)
        verified = await client.post(VERIFY, json={"token": token_in(mail)})
        assert verified.status_code == 200, verified.text
