"""``GATEHOUSE_WEBHOOKS``: a JSON list of endpoints, ``[{"url", "secret", "events"?}]``.

``secret`` is one ``whsec_<base64>`` secret or a list of them (while rotating: every message is
signed with each). ``events`` lists the event types the endpoint takes (every type when left
out). A bad entry stops the start with a message that names its URL and never the secret: the
URL and the events are checked here, the secrets where the other secrets are
(``gatehouse.main.secrets.load_webhook_endpoints``), because pydantic's errors repeat the
value they refuse.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gatehouse.modules.accounts.application.webhooks import WEBHOOK_EVENTS


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookSetting(BaseModel):
    """One entry of ``GATEHOUSE_WEBHOOKS``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    secret: SecretStr | tuple[SecretStr, ...]
    events: tuple[str, ...] | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.fragment:
            msg = f"GATEHOUSE_WEBHOOKS: {url!r} is not an absolute http(s) URL without fragment"
            raise ValueError(msg)
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            msg = f"GATEHOUSE_WEBHOOKS: {url!r} must be https:// (http:// only on a loopback host)"
            raise ValueError(msg)
        return url

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        unknown = sorted(set(value) - WEBHOOK_EVENTS)
        if unknown or not value:
            msg = (
                f"GATEHOUSE_WEBHOOKS: unknown event type(s) {', '.join(unknown) or '(none given)'};"
                f" the types are {', '.join(sorted(WEBHOOK_EVENTS))}"
            )
            raise ValueError(msg)
        return value

    @property
    def secrets(self) -> tuple[SecretStr, ...]:
        return self.secret if isinstance(self.secret, tuple) else (self.secret,)

    @property
    def is_plain_http(self) -> bool:
        return self.url.startswith("http://")


def check_webhooks(webhooks: tuple[WebhookSetting, ...], *, production: bool) -> None:
    """The checks across entries: each URL once; plain http not in production."""
    urls = [webhook.url for webhook in webhooks]
    twice = sorted({url for url in urls if urls.count(url) > 1})
    if twice:
        msg = f"GATEHOUSE_WEBHOOKS names an endpoint twice: {', '.join(twice)}"
        raise ValueError(msg)
    if production and any(webhook.is_plain_http for webhook in webhooks):
        msg = "GATEHOUSE_WEBHOOKS: production endpoints are https:// (http:// is for dev and test)"
        raise ValueError(msg)
