"""Mail requests end to end with a real SMTP server (helpers: tests/e2e/mail_flows.py): known
and unknown addresses get the same answer while only owners get mail, and every address's mail
is capped (one a minute, five an hour), confirmations to a new address and the registration's own
mail included."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, bearer, login, token_in, unique_email
from tests.e2e.mail_flows import FORGOT, RESEND, settled
from tests.support.clock import FixedClock

RATE_LIMIT_COUNTS = {"ratelimit", "ratelimit-remaining", "ratelimit-reset"}


async def test_known_and_unknown_addresses_get_the_same_answer_and_only_owners_get_mail(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client = mailing
    known = await account(client, settings, smtp_server, "known")
    unverified = unique_email("unverified")
    await client.post("/api/v1/auth/register", json={"email": unverified, "password": PASSWORD})
    await smtp_server.wait_for(1)  # the registration's own verification mail
    smtp_server.clear()

    def same(response: httpx.Response) -> tuple[int, bytes, tuple[tuple[str, str], ...]]:
        # The request id and the per-IP rate-limit count change with every request, whatever
        # the address: the rest must not differ.
        headers = tuple(
            (k, v)
            for k, v in response.headers.items()
            if k != "x-request-id" and k not in RATE_LIMIT_COUNTS
        )
        return response.status_code, response.content, headers

    for path in (FORGOT, RESEND):
        clock.advance(timedelta(minutes=2))  # each address may get one mail a minute
        answers = {
            same(await client.post(path, json={"email": address}))
            for address in (known, unverified, unique_email("nobody"))
        }
        assert len(answers) == 1, f"{path} told the addresses apart: {answers}"
        assert next(iter(answers))[0] == 202
    await settled(settings)

    received = sorted((m["To"], m["Subject"]) for m in smtp_server.messages)
    assert received == sorted(
        [
            (known, "Reset your password"),
            (unverified, "Reset your password"),
            (unverified, "Confirm your email address"),  # the verified one gets no resend
        ]
    )


async def test_mail_requests_are_capped_per_address(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "capped")
    clock.advance(timedelta(seconds=3605 - clock.now().timestamp() % 3600))  # hh:00:05
    for _ in range(3):
        assert (await client.post(FORGOT, json={"email": email})).status_code == 202
    await settled(settings)
    assert len(smtp_server.messages) == 1  # one a minute
    for _ in range(6):
        clock.advance(timedelta(minutes=1))
        assert (await client.post(FORGOT, json={"email": email})).status_code == 202
    await settled(settings)
    assert len(smtp_server.messages) == 5  # five an hour


async def test_confirmation_mails_to_a_new_address_are_capped_too(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "cap-move")
    target = unique_email("cap-target")
    pair = await login(client, email)
    for _ in range(3):
        asked = await client.post(
            "/api/v1/me/email",
            json={"new_email": target, "password": PASSWORD},
            headers=bearer(pair),
        )
        assert asked.status_code == 202
    await settled(settings)
    assert [m["To"] for m in smtp_server.messages].count(target) == 1


async def test_a_resend_right_after_registering_sends_nothing_and_the_first_link_stays_good(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = unique_email("resend-cap")
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 202
    [first] = await smtp_server.wait_for(1)
    resent = await client.post(RESEND, json={"email": email})
    assert resent.status_code == 202  # the same answer as when a mail goes out
    await settled(settings)
    assert len(smtp_server.messages) == 1  # the registration mail used the minute's budget
    verified = await client.post("/api/v1/auth/verify-email", json={"token": token_in(first)})
    assert verified.status_code == 200, verified.text


async def test_registering_a_taken_address_still_mails_its_owner(
    mailing: httpx.AsyncClient, smtp_server: Any
) -> None:
    client = mailing
    email = unique_email("taken-cap")
    body = {"email": email, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 202
    await smtp_server.wait_for(1)
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 202
    [_, notice] = await smtp_server.wait_for(2)
    assert notice["To"] == email
