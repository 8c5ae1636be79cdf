"""Sentry and OpenTelemetry, captured in process: reports carry the request id, never a secret.

Sentry's client sends to a transport that records the envelopes; spans go to an in-memory
exporter. Every secret the requests carry is random, so it cannot be found in source lines
that a stack trace quotes: finding one in the serialized output means it leaked.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import providers
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from gatehouse.main.monitoring import Monitoring, start_monitoring
from gatehouse.main.monitoring.tracing import REQUEST_ID_ATTRIBUTE
from gatehouse.main.settings import Settings
from tests.e2e.conftest import assert_problem, serve, unique_email


class RecordingTransport(Transport):
    """Sentry's transport, minus the network: keeps every envelope the client sends."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        events = [envelope.get_event() for envelope in self.envelopes]
        return [dict(event) for event in events if event is not None]

    def serialized(self) -> str:
        return b"".join(envelope.serialize() for envelope in self.envelopes).decode()


def secrets() -> dict[str, str]:
    return {
        name: f"{name}-{uuid.uuid4().hex}" for name in ("password", "bearer", "query", "cookie")
    }


def secret_request(found: dict[str, str]) -> dict[str, Any]:
    """A sign-in that carries each kind of secret: body, Authorization, query string, cookies."""
    return {
        "url": f"/api/v1/auth/login?token={found['query']}",
        "json": {"email": unique_email("monitored"), "password": found["password"]},
        "headers": {
            "Authorization": f"Bearer {found['bearer']}",
            "Cookie": f"gatehouse_refresh={found['cookie']}; gatehouse_csrf={found['cookie']}",
            "X-CSRF-Token": found["cookie"],
        },
    }


@pytest.fixture
def sentry(settings: Settings) -> Iterator[tuple[Monitoring, RecordingTransport]]:
    transport = RecordingTransport()
    with_dsn = settings.model_copy(
        update={"sentry_dsn": SecretStr("https://public@sentry.invalid/1")}
    )
    monitoring = start_monitoring(with_dsn, traces=False, sentry_transport=transport)
    try:
        yield monitoring, transport
    finally:
        monitoring.stop()


@pytest.fixture
def spans(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Monitoring, InMemorySpanExporter]]:
    # An operator who asks for headers on spans still gets no credentials.
    monkeypatch.setenv(
        "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST",
        "authorization,cookie,x-csrf-token,x-request-id",
    )
    exporter = InMemorySpanExporter()
    monitoring = start_monitoring(settings, span_export=SimpleSpanProcessor(exporter))
    try:
        yield monitoring, exporter
    finally:
        monitoring.stop()


def exploding_login(app: FastAPI) -> None:
    """Sign-in fails with a bug whose message quotes the command, password included."""

    async def login(command: object) -> None:
        raise RuntimeError(f"cannot sign in: {command!r}")

    app.state.container.auth.login.override(providers.Object(login))


async def test_sentry_reports_a_500_with_its_request_id_and_no_secret(
    settings: Settings, sentry: tuple[Monitoring, RecordingTransport]
) -> None:
    monitoring, transport = sentry
    found = secrets()
    async with serve(settings, exploding_login, monitoring) as client:
        response = await client.post(**secret_request(found))
    assert_problem(response, 500, "internal_error")
    request_id = response.headers["x-request-id"]

    errors = [event for event in transport.events() if event.get("exception")]
    assert len(errors) == 1, transport.events()
    event = errors[0]
    assert event["tags"]["request_id"] == request_id
    error = event["exception"]["values"][-1]
    assert error["type"] == "RuntimeError"
    assert error["mechanism"]["handled"] is False
    assert "password='[Filtered]'" in error["value"]
    request = event["request"]
    assert request["url"].endswith("/api/v1/auth/login")
    assert request["query_string"] == "token=[Filtered]"
    assert "data" not in request
    assert "cookies" not in request
    assert request["headers"]["authorization"] == "[Filtered]"
    sent = transport.serialized()
    for name, value in found.items():
        assert value not in sent, f"the {name} reached Sentry"


async def test_sentry_does_not_report_client_errors(
    settings: Settings, sentry: tuple[Monitoring, RecordingTransport]
) -> None:
    monitoring, transport = sentry
    found = secrets()
    async with serve(settings, monitoring=monitoring) as client:
        response = await client.post(**secret_request(found))
    assert response.status_code == 401
    assert not [event for event in transport.events() if event.get("exception")]
    sent = transport.serialized()
    assert all(value not in sent for value in found.values())


async def test_spans_carry_the_request_id_and_no_secret(
    settings: Settings, spans: tuple[Monitoring, InMemorySpanExporter]
) -> None:
    monitoring, exporter = spans
    found = secrets()
    async with serve(settings, monitoring=monitoring) as client:
        login = await client.post(**secret_request(found))
        page = await client.get(
            f"/verify-email?token={found['query']}",
            headers={"Authorization": f"Bearer {found['bearer']}"},
        )
    assert login.status_code == 401
    assert page.status_code == 200
    request_ids = {login.headers["x-request-id"], page.headers["x-request-id"]}

    finished: tuple[ReadableSpan, ...] = exporter.get_finished_spans()
    servers = [span for span in finished if span.kind is SpanKind.SERVER]
    assert {attributes(span)[REQUEST_ID_ATTRIBUTE] for span in servers} == request_ids
    by_trace = {span.context.trace_id: attributes(span)[REQUEST_ID_ATTRIBUTE] for span in servers}
    in_requests = [span for span in finished if span.context.trace_id in by_trace]
    for span in in_requests:
        assert attributes(span).get(REQUEST_ID_ATTRIBUTE) == by_trace[span.context.trace_id]
    scopes = {span.instrumentation_scope.name for span in in_requests if span.instrumentation_scope}
    assert any("asyncpg" in scope for scope in scopes), scopes
    assert any("redis" in scope for scope in scopes), scopes

    exported = json.dumps([json.loads(span.to_json()) for span in finished])
    assert "token=[Filtered]" in exported  # the URLs are there, their token is not
    for name, value in found.items():
        assert value not in exported, f"the {name} reached a span"


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})
