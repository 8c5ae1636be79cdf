"""Which security events become which webhooks, and what their data holds."""

from __future__ import annotations

import uuid

import pytest

from gatehouse.modules.accounts.application.webhooks import WEBHOOK_EVENTS, webhooks_for
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.application.public import JsonValue, OutgoingWebhook

USER = uuid.UUID("019aa7c2-5a3e-7d41-8c55-0e6d2f1b7a90")
SESSION = uuid.UUID("019aa7b9-03d1-7f2e-9b1a-55c0e8a3d412")
EMAIL = "ada@example.com"


class Addresses:
    """``email_of`` for the tests: answers ``EMAIL`` and counts the reads."""

    def __init__(self) -> None:
        self.reads = 0

    async def __call__(self, user_id: uuid.UUID) -> str | None:
        self.reads += 1
        return EMAIL if user_id == USER else None


async def published(
    event: SecurityEvent, wanted: frozenset[str] = WEBHOOK_EVENTS
) -> list[OutgoingWebhook]:
    return await webhooks_for(event, wants=wanted.__contains__, email_of=Addresses())


def event(type_: str, session_id: uuid.UUID | None = None, **details: str) -> SecurityEvent:
    return SecurityEvent(
        type=type_,
        user_id=USER,
        session_id=session_id,
        ip="203.0.113.7",
        user_agent="curl/8",
        details=details,
    )


WITH_EMAIL: dict[str, JsonValue] = {"user_id": str(USER), "email": EMAIL}


@pytest.mark.parametrize(
    ("recorded", "webhook_type", "data"),
    [
        (event("account.registered", method="password"), "user.created", {"method": "password"}),
        (
            event("account.registered", method="social:google", provider="google"),
            "user.created",
            {"method": "social:google"},
        ),
        (
            event("account.email_verified", method="link"),
            "user.email_verified",
            {"by_admin": False},
        ),
        (
            event("account.password_changed", sessions_ended="2"),
            "user.password_changed",
            {"reset": False},
        ),
        (
            event("account.password_reset", sessions_ended="3"),
            "user.password_changed",
            {"reset": True},
        ),
        (event("account.email_changed"), "user.email_changed", {}),
        (event("mfa.totp_enabled"), "user.mfa_changed", {"change": "totp_enabled"}),
        (event("mfa.email_disabled"), "user.mfa_changed", {"change": "email_disabled"}),
        (
            event("auth.session_ended", SESSION, reason="logout", by_session=str(SESSION)),
            "session.revoked",
            {"session_id": str(SESSION), "reason": "logout"},
        ),
        (
            event("auth.all_sessions_ended", reason="logout_all", sessions="3"),
            "session.revoked",
            {"session_id": None, "reason": "logout_all"},
        ),
        (
            event("auth.refresh_token_reused", SESSION, generation="0"),
            "session.refresh_token_reused",
            {"session_id": str(SESSION)},
        ),
        (
            event("account.identity_linked", provider="google", how="settings"),
            "user.identity_linked",
            {"provider": "google", "how": "settings"},
        ),
        (
            event("account.identity_unlinked", provider="google"),
            "user.identity_unlinked",
            {"provider": "google"},
        ),
        (event("admin.user_updated", admin_id="a", is_active="false"), "user.disabled", {}),
        (event("admin.user_updated", operator="cli:alice", is_active="true"), "user.enabled", {}),
        (
            event("admin.user_updated", admin_id="a", email_verified="true"),
            "user.email_verified",
            {"by_admin": True},
        ),
    ],
)
async def test_a_security_event_publishes_its_webhook_with_the_user_and_address(
    recorded: SecurityEvent, webhook_type: str, data: dict[str, JsonValue]
) -> None:
    assert await published(recorded) == [OutgoingWebhook(webhook_type, {**WITH_EMAIL, **data})]


async def test_a_deleted_account_is_named_by_its_id_alone_and_its_address_is_not_read() -> None:
    addresses = Addresses()
    webhooks = await webhooks_for(
        event("account.deleted"), wants=WEBHOOK_EVENTS.__contains__, email_of=addresses
    )
    assert webhooks == [OutgoingWebhook("user.deleted", {"user_id": str(USER)})]
    assert addresses.reads == 0


async def test_one_admin_update_may_publish_several_webhooks() -> None:
    update = event("admin.user_updated", admin_id="a", is_active="false", email_verified="true")
    assert [w.type for w in await published(update)] == ["user.email_verified", "user.disabled"]


@pytest.mark.parametrize(
    "recorded",
    [
        event("auth.signed_in", SESSION, method="password"),
        event("auth.mfa_failed", method="totp", tries_left="4"),
        event("account.email_change_requested"),
        event("admin.user_updated", admin_id="a", roles="user,admin"),
        event("admin.user_updated", admin_id="a", email_verified="false"),
    ],
)
async def test_events_outside_the_catalogue_publish_nothing(recorded: SecurityEvent) -> None:
    assert await published(recorded) == []


async def test_nothing_is_built_or_read_for_a_type_no_endpoint_wants() -> None:
    addresses = Addresses()
    webhooks = await webhooks_for(
        event("account.email_changed"),
        wants=frozenset({"user.deleted"}).__contains__,
        email_of=addresses,
    )
    assert (webhooks, addresses.reads) == ([], 0)


async def test_an_event_about_no_user_publishes_nothing() -> None:
    imported = SecurityEvent(type="admin.users_imported", user_id=None, details={"by": "cli"})
    assert await published(imported) == []


async def test_no_webhook_carries_the_ip_the_user_agent_or_other_details() -> None:
    recorded = event("auth.session_ended", SESSION, reason="logout", by_session=str(SESSION))
    [webhook] = await published(recorded)
    values = {str(value) for value in webhook.data.values()}
    assert not values & {"203.0.113.7", "curl/8"}
    assert set(webhook.data) == {"user_id", "email", "session_id", "reason"}
