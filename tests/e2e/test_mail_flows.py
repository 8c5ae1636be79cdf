"""Every flow through the mailbox, end to end with a real SMTP server: password reset and
change, verification resend, email change, and the pages mailed links open."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from gatehouse.main.settings import Settings
from tests.e2e.conftest import (
    PASSWORD,
    account,
    bearer,
    login,
    sql,
    token_in,
    unique_email,
)
from tests.support.clock import FixedClock

NEW_PASSWORD = "a brand new passphrase 42"
FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
RESEND = "/api/v1/auth/verify-email/resend"
RATE_LIMIT_COUNTS = {"ratelimit", "ratelimit-remaining", "ratelimit-reset"}


async def pending_mail(settings: Settings) -> int:
    count: int = await sql(
        settings, "SELECT count(*) FROM notifications_outbox WHERE status = 'pending'"
    )
    return count


async def settled(settings: Settings) -> None:
    """Wait (bounded) until the dispatcher has handled every queued row."""
    for _ in range(200):
        if await pending_mail(settings) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never drained")


async def test_a_reset_link_sets_a_new_password_and_signs_out_everywhere(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "reset")
    laptop, phone = await login(client, email), await login(client, email)

    asked = await client.post(FORGOT, json={"email": email}, headers={"Accept-Language": "de"})
    assert asked.status_code == 202
    [mail] = await smtp_server.wait_for(1)
    assert mail["Subject"] == "Setzen Sie Ihr Passwort zurück"
    assert "30 Minuten" in mail.get_body(preferencelist=("plain",)).get_content()
    token = token_in(mail)

    weak = await client.post(RESET, json={"token": token, "new_password": "password"})
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert [e["loc"] for e in weak.json()["errors"]] == [["body", "new_password"]]
    # and the token is still good:
    done = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 204, done.text

    for pair in (laptop, phone):
        assert (await client.get("/api/v1/me", headers=bearer(pair))).status_code == 401
        refreshed = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        )
        assert refreshed.status_code == 401
    old = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    fresh = await login(client, email, NEW_PASSWORD)

    again = await client.post(RESET, json={"token": token, "new_password": NEW_PASSWORD + "!"})
    assert again.status_code == 400
    assert again.json()["code"] == "token_invalid"

    [_, notice] = await smtp_server.wait_for(2)
    assert notice["To"] == email
    assert notice["Subject"] == "Your password was changed"
    events = (await client.get("/api/v1/me/audit-events", headers=bearer(fresh))).json()
    reset = [e for e in events["items"] if e["type"] == "account.password_reset"]
    assert reset[0]["details"] == {"sessions_ended": "2"}


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


async def test_only_the_newest_link_works_and_none_after_thirty_minutes(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings, clock: FixedClock
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "newest")
    await client.post(FORGOT, json={"email": email})
    [first] = await smtp_server.wait_for(1)
    clock.advance(timedelta(minutes=2))  # past the per-minute cap
    await client.post(FORGOT, json={"email": email})
    [_, second] = await smtp_server.wait_for(2)

    older = await client.post(RESET, json={"token": token_in(first), "new_password": NEW_PASSWORD})
    assert older.status_code == 400
    clock.advance(timedelta(minutes=30, seconds=1))
    expired = await client.post(
        RESET, json={"token": token_in(second), "new_password": NEW_PASSWORD}
    )
    assert expired.status_code == 400
    assert expired.json()["code"] == "token_invalid"
    await login(client, email)  # the password never changed


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


async def test_changing_the_password_keeps_this_session_and_ends_the_others(
    mailing: httpx.AsyncClient, smtp_server: Any, settings: Settings
) -> None:
    client = mailing
    email = await account(client, settings, smtp_server, "change")
    here, elsewhere = await login(client, email), await login(client, email)
    await client.post(FORGOT, json={"email": email})
    [reset_mail] = await smtp_server.wait_for(1)

    def change(current: str, new: str) -> dict[str, str]:
        return {"current_password": current, "new_password": new}

    wrong = await client.post(
        "/api/v1/me/password", json=change("not it", NEW_PASSWORD), headers=bearer(here)
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "reauth_failed"
    weak = await client.post(
        "/api/v1/me/password", json=change(PASSWORD, "password"), headers=bearer(here)
    )
    assert weak.status_code == 422
    assert weak.json()["errors"] == [
        {
            "loc": ["body", "new_password"],
            "msg": "the password is too common; choose another",
            "type": "weak_password",
        }
    ]
    done = await client.post(
        "/api/v1/me/password", json=change(PASSWORD, NEW_PASSWORD), headers=bearer(here)
    )
    assert done.status_code == 204, done.text

    assert (await client.get("/api/v1/me", headers=bearer(here))).status_code == 200
    assert (await client.get("/api/v1/me", headers=bearer(elsewhere))).status_code == 401
    kept = await client.post("/api/v1/auth/refresh", json={"refresh_token": here["refresh_token"]})
    assert kept.status_code == 200
    await login(client, email, NEW_PASSWORD)
    stale = await client.post(
        RESET, json={"token": token_in(reset_mail), "new_password": "yet another passphrase 7"}
    )
    assert stale.status_code == 400  # the pending reset link died with the change
    [_, notice] = await smtp_server.wait_for(2)
    assert notice["Subject"] == "Your password was changed"
    assert (
        "Your other sessions were signed out."
        in notice.get_body(preferencelist=("plain",)).get_content()
    )


async def test_changing_the_password_needs_a_token(mailing: httpx.AsyncClient) -> None:
    response = await mailing.post(
        "/api/v1/me/password", json={"current_password": "a", "new_password": "b"}
    )
    assert response.status_code == 401


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


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
