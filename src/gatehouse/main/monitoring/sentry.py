"""Sentry error reports: on when ``GATEHOUSE_SENTRY_DSN`` is set, and never with a secret in them.

The SDK's FastAPI/Starlette integration adds each request's method, URL, query string and
headers to its events; the logging integration turns ``ERROR`` log lines into events and lower
ones into breadcrumbs. Before anything is sent, every event, transaction and breadcrumb goes
through :func:`scrub_event` / :func:`scrub_breadcrumb`: no request body at all (the SDK is also
told never to read one), no cookies, secret headers replaced, secret query parameters replaced,
and the whole event walked by :mod:`gatehouse.main.monitoring.scrub`. Stack frames carry no
local variables. A scrubber that fails drops the event rather than send it unscrubbed.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import sentry_sdk
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.transport import Transport
from sentry_sdk.types import Event, Hint
from sentry_sdk.utils import event_from_exception

import gatehouse
from gatehouse.main.http.middleware import CURRENT_REQUEST_ID
from gatehouse.main.monitoring.scrub import FILTERED, scrub, scrub_text, secret_key
from gatehouse.main.settings import Settings

log = logging.getLogger("gatehouse.monitoring")

REQUEST_ID_TAG = "request_id"


def start_sentry(settings: Settings, *, transport: Transport | None = None) -> bool:
    """Start the Sentry client when a DSN is configured; ``False`` (and nothing done) if not."""
    if settings.sentry_dsn is None:
        return False
    rate = settings.sentry_traces_sample_rate
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment or settings.env,
        release=f"gatehouse@{gatehouse.__version__}",
        # 0 means no performance tracing at all, not "trace and drop every transaction".
        traces_sample_rate=rate or None,
        # send_default_pii stays at its default, False (no user IP, no cookies).
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        integrations=[
            StarletteIntegration(transaction_style="url"),
            FastApiIntegration(transaction_style="url"),
        ],
        transport=transport,
    )
    return True


def stop_sentry() -> None:
    """Flush and close the client, and leave the SDK as if it had never been started."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)


def report(error: BaseException) -> None:
    """Report an exception that became a 500: unhandled by the app, though the request
    middleware answered for it (so the SDK's own ASGI middleware never sees it)."""
    event, hint = event_from_exception(
        error,
        client_options=sentry_sdk.get_client().options,
        mechanism={"type": "gatehouse.http", "handled": False},
    )
    sentry_sdk.capture_event(event, hint=hint)


def tag_request(request_id: str) -> None:
    """Tag the request's Sentry scope (its transaction and events) with the request id."""
    sentry_sdk.get_isolation_scope().set_tag(REQUEST_ID_TAG, request_id)


def scrub_event(event: Event, _hint: Hint) -> Event | None:
    try:
        return _scrubbed(event)
    except Exception:  # never send what could not be scrubbed
        log.warning("dropped a Sentry event that could not be scrubbed", exc_info=True)
        return None


def scrub_breadcrumb(crumb: dict[str, Any], _hint: dict[str, Any]) -> dict[str, Any] | None:
    try:
        cleaned = scrub(crumb)
    except Exception:  # noqa: BLE001 - a crumb that cannot be scrubbed is dropped, not sent
        return None
    return cleaned if isinstance(cleaned, dict) else None


def _scrubbed(event: Event) -> Event:
    raw: dict[str, Any] = dict(event)
    request = raw.get("request")
    if isinstance(request, dict):
        request = dict(request)
        for field in ("data", "cookies"):
            request.pop(field, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: FILTERED if secret_key(name) or name.lower() == "cookie" else value
                for name, value in headers.items()
            }
        query = request.get("query_string")
        if isinstance(query, str):
            request["query_string"] = scrub_text(query)
        raw["request"] = request
    request_id = CURRENT_REQUEST_ID.get()
    if request_id is not None:
        tags = raw.get("tags")
        raw["tags"] = {**(tags if isinstance(tags, dict) else {}), REQUEST_ID_TAG: request_id}
    cleaned = scrub(raw)
    assert isinstance(cleaned, dict)
    return cast("Event", cleaned)
