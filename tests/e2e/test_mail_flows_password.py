"""Password reset and change, end to end with a real SMTP server (helpers:
tests/e2e/mail_flows.py): a reset link sets a new password and signs out everywhere, only the
newest link works and none after thirty minutes, and a change keeps this session, ends the others
and kills a pending reset link."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from gatehouse.main.settings import Settings
from tests.e2e.conftest import PASSWORD, account, bearer, login, token_in
from tests.e2e.mail_flows import FORGOT, NEW_PASSWORD, RESET
from tests.support.clock import FixedClock


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
