"""OpenTelemetry traces: off unless configured, then one span per request with its children.

On when ``GATEHOUSE_OTEL_ENABLED=true``, or when it is unset and the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set
(``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` keep it off). Spans go to an
OTLP/HTTP exporter configured by the standard ``OTEL_*`` variables (endpoint, headers, timeout,
compression), sampled per ``OTEL_TRACES_SAMPLER``; ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES`` name the service (``gatehouse`` by default).

Spans: the server span of each request (FastAPI/ASGI instrumentation, without the per-message
``receive``/``send`` spans), and a child for every PostgreSQL statement (asyncpg, which the
SQLAlchemy engine runs on too) and Redis command. Every span started while a request is
handled carries ``request_id``: the request-context middleware sets it on the server
span and :class:`MonitoringSpanProcessor` on each child. The same processor scrubs every span
before export (:mod:`gatehouse.main.monitoring.scrub`): no request bodies are recorded at all,
secret query parameters in URLs are replaced, as are captured headers such as Authorization.
"""

from __future__ import annotations

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status
from opentelemetry.util.types import Attributes, AttributeValue

import gatehouse
from gatehouse.main.http.middleware import CURRENT_REQUEST_ID
from gatehouse.main.monitoring.scrub import FILTERED, scrub_text, secret_key

# The name the access log line and Sentry tag use too: one search finds all three.
REQUEST_ID_ATTRIBUTE = "request_id"


def start_tracing(export: SpanProcessor | None = None) -> TracerProvider:
    """A tracer provider exporting through ``export`` (OTLP/HTTP in batches by default), with
    PostgreSQL and Redis instrumented. Not installed as the global provider: the app and the
    instrumentations are handed it, so a test's provider never outlives the test."""
    if export is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        export = BatchSpanProcessor(OTLPSpanExporter())
    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over these names.
    resource = Resource.create(
        {SERVICE_NAME: "gatehouse", "service.version": gatehouse.__version__}
    ).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(MonitoringSpanProcessor(export))
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument(tracer_provider=provider)
    return provider


def instrument_app(app: FastAPI, provider: TracerProvider) -> None:
    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=provider, exclude_spans=["receive", "send"]
    )


def stop_tracing(provider: TracerProvider) -> None:
    AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    RedisInstrumentor().uninstrument()
    provider.shutdown()


def tag_current_span(request_id: str) -> None:
    """Put the request id on the request's server span (the current span in the middleware)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


class MonitoringSpanProcessor(SpanProcessor):
    """Adds the request id to spans as they start and scrubs them as they end, then hands them
    to the exporting processor."""

    def __init__(self, export: SpanProcessor) -> None:
        self._export = export

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        request_id = CURRENT_REQUEST_ID.get()
        if request_id is not None:
            span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
        self._export.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._export.on_end(scrubbed_span(span))

    def shutdown(self) -> None:
        self._export.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._export.force_flush(timeout_millis)


def scrubbed_span(span: ReadableSpan) -> ReadableSpan:
    status = span.status
    if status.description:
        status = Status(status.status_code, scrub_text(status.description))
    return ReadableSpan(
        name=scrub_text(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=scrub_attributes(span.attributes),
        events=[
            Event(event.name, scrub_attributes(event.attributes), event.timestamp)
            for event in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def scrub_attributes(attributes: Attributes) -> dict[str, AttributeValue]:
    return {key: _scrub_value(key, value) for key, value in (attributes or {}).items()}


def _scrub_value(key: str, value: AttributeValue) -> AttributeValue:
    if secret_key(key):
        return FILTERED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, tuple | list) and all(isinstance(item, str) for item in value):
        return [scrub_text(str(item)) for item in value]
    return value
