"""Signed webhooks end to end: real API calls through the app (its lifespan running the
dispatchers), a real HTTP receiver on 127.0.0.1, signatures checked with ``standardwebhooks``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from dependency_injector import providers
from fastapi import FastAPI
from pydantic import SecretStr

from gatehouse.main.settings import Settings
from gatehouse.main.webhook_settings import WebhookSetting
from tests.e2e.conftest import (
    PASSWORD,
    ClientFactory,
    bearer,
    login,
    sql,
    token_in,
    unique_email,
    verified_user,
)
from tests.support.clock import FixedClock
from tests.support.webhooks import (
    Delivery,
    WebhookReceiver,
    receiver_fixture,  # noqa: F401 - the receiver fixture
)

NEW_PASSWORD = "a brand new passphrase 42"


def hooked(
    make_client: ClientFactory, receiver: WebhookReceiver, **overrides: Any
) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    """The app delivering every webhook to ``receiver``, its dispatchers running."""
    webhook = WebhookSetting(url=receiver.url, secret=SecretStr(receiver.secret))
    return make_client(webhooks=(webhook,), dispatch_in_serve=True, **overrides)


@pytest_asyncio.fixture(loop_scope="session")
async def empty_webhook_outbox(settings: Settings) -> AsyncIterator[None]:
    """Other tests of this worker's database leave rows for their own receivers behind."""
    await sql(settings, "DELETE FROM notifications_webhook_outbox")
    yield


pytestmark = pytest.mark.usefixtures("empty_webhook_outbox")


def verified(deliveries: list[Delivery], receiver: WebhookReceiver) -> list[dict[str, Any]]:
    """The payloads in the order they happened, each signature checked."""
    payloads = [delivery.verify(receiver.secret) for delivery in deliveries]
    return sorted(payloads, key=lambda payload: payload["timestamp"])


async def test_an_account_life_reaches_the_receiver_signed_once_per_event(
    make_client: ClientFactory, receiver: WebhookReceiver, smtp_server: Any
) -> None:
    email = unique_email("hooked")
    async with hooked(make_client, receiver, smtp_url=smtp_server.url) as client:
        registered = await client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 202
        [mail] = await smtp_server.wait_for(1)
        token = token_in(mail)
        verify = await client.post("/api/v1/auth/verify-email", json={"token": token})
        assert verify.status_code == 200
        user_id = verify.json()["id"]
        pair = await login(client, email)
        changed = await client.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(pair),
        )
        assert changed.status_code == 204
        assert (await client.post("/api/v1/auth/logout", headers=bearer(pair))).status_code == 204
        last = await login(client, email, NEW_PASSWORD)
        deleted = await client.request(
            "DELETE", "/api/v1/me", json={"password": NEW_PASSWORD}, headers=bearer(last)
        )
        assert deleted.status_code == 204

        deliveries = await receiver.wait_for(5)

    payloads = verified(deliveries, receiver)
    assert [payload["type"] for payload in payloads] == [
        "user.created",
        "user.email_verified",
        "user.password_changed",
        "session.revoked",
        "user.deleted",
    ]
    sid = jwt.decode(pair["access_token"], options={"verify_signature": False})["sid"]
    assert [payload["data"] for payload in payloads] == [
        {"user_id": user_id, "email": email, "method": "password"},
        {"user_id": user_id, "email": email, "by_admin": False},
        {"user_id": user_id, "email": email, "reset": False},
        {"user_id": user_id, "email": email, "session_id": sid, "reason": "logout"},
        {"user_id": user_id},  # the address went with the account
    ]
    assert len(receiver.received) == 5
    assert len({delivery.webhook_id for delivery in deliveries}) == 5
    for delivery in deliveries:  # nothing secret travels
        for secret in (PASSWORD, NEW_PASSWORD, token, pair["access_token"], pair["refresh_token"]):
            assert secret.encode() not in delivery.body


async def test_a_request_never_waits_for_a_webhook(
    make_client: ClientFactory, receiver: WebhookReceiver, settings: Settings
) -> None:
    receiver.hold()  # the receiver takes the first delivery and does not answer
    async with hooked(make_client, receiver) as client:
        first, second = unique_email("held"), unique_email("not-waiting")
        await verified_user(client, settings, first)
        await receiver.wait_for_arrivals(1)  # the dispatcher is stuck inside that POST

        registered = await client.post(
            "/api/v1/auth/register", json={"email": second, "password": PASSWORD}
        )

        assert registered.status_code == 202  # answered while the dispatcher still waits
        assert receiver.received == []
        waiting = await sql(
            settings,
            "SELECT count(*) FROM notifications_webhook_outbox WHERE status = 'pending'",
        )
        assert waiting == 2  # the held one and the new one, written with their accounts
        receiver.release()
        deliveries = await receiver.wait_for(2)
    assert sorted(p["data"]["email"] for p in verified(deliveries, receiver)) == sorted(
        [first, second]
    )


async def test_session_ends_and_a_reused_refresh_token_are_published(
    make_client: ClientFactory, receiver: WebhookReceiver, settings: Settings
) -> None:
    clock = FixedClock(datetime.now(UTC))

    def fixed_clock(app: FastAPI) -> None:
        app.state.container.clock.override(providers.Object(clock))

    email = unique_email("hooked-sessions")
    async with hooked(make_client, receiver, prepare=fixed_clock) as client:
        await verified_user(client, settings, email)  # registered; verified in the database
        laptop = await login(client, email)
        await login(client, email)
        ended = await client.post("/api/v1/auth/logout-all", headers=bearer(laptop))
        assert ended.status_code == 204
        fresh = await login(client, email)
        child = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
        )
        assert child.status_code == 200
        clock.advance(timedelta(seconds=11))  # past the reuse grace interval
        stolen = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}
        )
        assert stolen.status_code == 401
        assert stolen.json()["code"] == "refresh_token_reused"
        deliveries = await receiver.wait_for(3)

    payloads = verified(deliveries, receiver)
    user_id = payloads[0]["data"]["user_id"]
    sid = jwt.decode(fresh["access_token"], options={"verify_signature": False})["sid"]
    assert [(p["type"], p["data"]) for p in payloads] == [
        ("user.created", {"user_id": user_id, "email": email, "method": "password"}),
        (
            "session.revoked",
            {"user_id": user_id, "email": email, "session_id": None, "reason": "logout_all"},
        ),
        ("session.refresh_token_reused", {"user_id": user_id, "email": email, "session_id": sid}),
    ]
