"""What Gatehouse publishes to webhook endpoints: the catalogue of event types, and how the
security events the modules record (audit's ``SecurityEvent``, recorded in the transaction of
the change) become them. Accounts publishes because it owns what a payload names besides the
ids: the account's address at the time of the event.

A payload's ``data`` holds the account's id and address and a few non-secret facts about the
change; never a token, code, password hash, IP address or user agent. ``user.deleted`` has the
id only: the address went with the account. See docs/webhooks.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.notifications.application.public import JsonValue, OutgoingWebhook

USER_CREATED = "user.created"
USER_EMAIL_VERIFIED = "user.email_verified"
USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an event name
USER_EMAIL_CHANGED = "user.email_changed"
USER_MFA_CHANGED = "user.mfa_changed"
USER_DISABLED = "user.disabled"
USER_ENABLED = "user.enabled"
USER_DELETED = "user.deleted"
USER_IDENTITY_LINKED = "user.identity_linked"
USER_IDENTITY_UNLINKED = "user.identity_unlinked"
SESSION_REVOKED = "session.revoked"
SESSION_REFRESH_TOKEN_REUSED = "session.refresh_token_reused"  # noqa: S105 - an event name

WEBHOOK_EVENTS: frozenset[str] = frozenset(
    {
        USER_CREATED,
        USER_EMAIL_VERIFIED,
        USER_PASSWORD_CHANGED,
        USER_EMAIL_CHANGED,
        USER_MFA_CHANGED,
        USER_DISABLED,
        USER_ENABLED,
        USER_DELETED,
        USER_IDENTITY_LINKED,
        USER_IDENTITY_UNLINKED,
        SESSION_REVOKED,
        SESSION_REFRESH_TOKEN_REUSED,
    }
)

EmailOf = Callable[[uuid.UUID], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class _Publish:
    type: str
    data: Mapping[str, JsonValue] = field(default_factory=dict)
    with_email: bool = True


def _admin_update(details: Mapping[str, str]) -> list[_Publish]:
    found = []
    if details.get("email_verified") == "true":
        found.append(_Publish(USER_EMAIL_VERIFIED, {"by_admin": True}))
    if details.get("is_active") == "false":
        found.append(_Publish(USER_DISABLED))
    if details.get("is_active") == "true":
        found.append(_Publish(USER_ENABLED))
    return found


def _session_id(event: SecurityEvent) -> str | None:
    return None if event.session_id is None else str(event.session_id)


def _publishes(event: SecurityEvent) -> list[_Publish]:  # noqa: PLR0911 - one case an event
    details = event.details
    match event.type:
        case "account.registered":
            return [_Publish(USER_CREATED, {"method": details.get("method", "password")})]
        case "account.email_verified":
            return [_Publish(USER_EMAIL_VERIFIED, {"by_admin": False})]
        case "admin.user_updated":
            return _admin_update(details)
        case "account.password_changed" | "account.password_reset":
            return [_Publish(USER_PASSWORD_CHANGED, {"reset": event.type.endswith("_reset")})]
        case "account.email_changed":
            return [_Publish(USER_EMAIL_CHANGED)]
        case "account.deleted":
            return [_Publish(USER_DELETED, with_email=False)]
        case "account.identity_linked":
            how = details.get("how")
            return [_Publish(USER_IDENTITY_LINKED, {"provider": details["provider"], "how": how})]
        case "account.identity_unlinked":
            return [_Publish(USER_IDENTITY_UNLINKED, {"provider": details["provider"]})]
        case "auth.session_ended" | "auth.all_sessions_ended":
            reason = details.get("reason")
            return [_Publish(SESSION_REVOKED, {"session_id": _session_id(event), "reason": reason})]
        case "auth.refresh_token_reused":
            return [_Publish(SESSION_REFRESH_TOKEN_REUSED, {"session_id": _session_id(event)})]
        case kind if kind.startswith("mfa."):
            return [_Publish(USER_MFA_CHANGED, {"change": kind.removeprefix("mfa.")})]
    return []


async def webhooks_for(
    event: SecurityEvent, *, wants: Callable[[str], bool], email_of: EmailOf
) -> list[OutgoingWebhook]:
    """The webhooks ``event`` publishes, of the types some endpoint ``wants``. ``email_of``
    reads the account's current address in the event's transaction (only when one is needed)."""
    if event.user_id is None:
        return []
    wanted = [publish for publish in _publishes(event) if wants(publish.type)]
    email = None
    if any(publish.with_email for publish in wanted):
        email = await email_of(event.user_id)
    return [
        OutgoingWebhook(
            publish.type,
            {
                "user_id": str(event.user_id),
                **({"email": email} if publish.with_email else {}),
                **publish.data,
            },
        )
        for publish in wanted
    ]
