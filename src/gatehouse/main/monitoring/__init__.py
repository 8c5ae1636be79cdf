"""Error monitoring and tracing, both optional: Sentry reports and OpenTelemetry traces.

``start_monitoring(settings)`` starts what is configured (nothing by default) and returns a
:class:`Monitoring`; ``create_app(settings, monitoring=...)`` instruments the app with it and
gives it to the request-context middleware, which calls it with each request's id and with
each exception it turns into a 500. ``stop()`` undoes everything, so tests can start and stop
monitoring without leaking the SDKs' global state into each other.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from gatehouse.main.settings import Settings

# The SDKs are imported only when something is switched on: off, monitoring costs nothing,
# not even the imports (about a second of a command's start on a busy machine).
if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from sentry_sdk.transport import Transport

log = logging.getLogger("gatehouse.monitoring")


def tracing_wanted(settings: Settings, environ: Mapping[str, str] = os.environ) -> bool:
    """``GATEHOUSE_OTEL_ENABLED`` if set, else whether the standard variables ask for traces."""
    if settings.otel_enabled is not None:
        return settings.otel_enabled
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


class Monitoring:
    """What was started; implements the middleware's ``RequestMonitor``."""

    def __init__(self, *, sentry_on: bool, tracer_provider: TracerProvider | None) -> None:
        self.sentry_on = sentry_on
        self.tracer_provider = tracer_provider

    @property
    def active(self) -> bool:
        return self.sentry_on or self.tracer_provider is not None

    def instrument(self, app: FastAPI) -> None:
        if self.tracer_provider is not None:
            from gatehouse.main.monitoring import tracing  # noqa: PLC0415

            tracing.instrument_app(app, self.tracer_provider)

    def request_started(self, request_id: str) -> None:
        if self.tracer_provider is not None:
            from gatehouse.main.monitoring import tracing  # noqa: PLC0415

            tracing.tag_current_span(request_id)
        if self.sentry_on:
            from gatehouse.main.monitoring import sentry  # noqa: PLC0415

            sentry.tag_request(request_id)

    def request_failed(self, error: Exception) -> None:
        if self.sentry_on:
            from gatehouse.main.monitoring import sentry  # noqa: PLC0415

            sentry.report(error)

    def stop(self) -> None:
        if self.tracer_provider is not None:
            from gatehouse.main.monitoring import tracing  # noqa: PLC0415

            tracing.stop_tracing(self.tracer_provider)
            self.tracer_provider = None
        if self.sentry_on:
            from gatehouse.main.monitoring import sentry  # noqa: PLC0415

            sentry.stop_sentry()
            self.sentry_on = False


def start_monitoring(
    settings: Settings,
    *,
    traces: bool = True,
    sentry_transport: Transport | None = None,
    span_export: SpanProcessor | None = None,
) -> Monitoring:
    """Start Sentry when a DSN is set and tracing when configured (``traces=False``: never, as
    for the outbox worker, whose queries belong to no request). ``sentry_transport`` and
    ``span_export`` replace the network exporters (tests); a ``span_export`` turns tracing on."""
    sentry_on = False
    if settings.sentry_dsn is not None:
        from gatehouse.main.monitoring import sentry  # noqa: PLC0415

        sentry_on = sentry.start_sentry(settings, transport=sentry_transport)
    provider = None
    if traces and (span_export is not None or tracing_wanted(settings)):
        from gatehouse.main.monitoring import tracing  # noqa: PLC0415

        provider = tracing.start_tracing(span_export)
    return Monitoring(sentry_on=sentry_on, tracer_provider=provider)


@contextlib.contextmanager
def monitored(settings: Settings, *, traces: bool = True) -> Iterator[Monitoring]:
    """Monitoring as configured for a command's lifetime; flushed and stopped when it ends."""
    monitoring = start_monitoring(settings, traces=traces)
    if monitoring.active:
        log.info(
            "monitoring",
            extra={
                "sentry": monitoring.sentry_on,
                "tracing": monitoring.tracer_provider is not None,
            },
        )
    try:
        yield monitoring
    finally:
        monitoring.stop()
