"""The application factory. No module-level app: ``create_app(settings)`` builds one."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, Gauge

import gatehouse
from gatehouse.main.container import ApplicationContainer, build_container, check_wiring
from gatehouse.main.http import docs, health
from gatehouse.main.http.cors import ProblemCorsMiddleware
from gatehouse.main.http.errors import install_error_handlers
from gatehouse.main.http.middleware import HttpMetrics, RequestContextMiddleware, TrustedProxies
from gatehouse.main.modules import MODULES, SHARED_WIRED, start_mappers
from gatehouse.main.monitoring import Monitoring
from gatehouse.main.settings import Settings
from gatehouse.modules.notifications.entrypoints.worker import run_dispatchers
from gatehouse.shared.errors import Unavailable

log = logging.getLogger("gatehouse")


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """Put a router's routes on the app itself.

    ``include_router`` keeps the router as a branch that FastAPI resolves on every request
    (about 15 µs a request on the bench machine, a fifth of a bare route). Our routers are
    built with their full prefix, tags and route class, so their routes are complete as they are.
    """
    app.router.routes.extend(router.routes)


def _operation_id(route: APIRoute) -> str:
    return route.operation_id or route.name


async def _repeat(
    interval: float, job: Callable[[], Awaitable[object]], stop: asyncio.Event
) -> None:
    """Run ``job`` every ``interval`` seconds until ``stop``; a failed run is logged, not fatal."""
    while not stop.is_set():
        try:
            await job()
        except Exception:
            log.exception("background job failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)


def _return_free_heap() -> None:
    """Give the kernel back the heap pages that start-up freed (import-time garbage, the
    collection above): glibc keeps them in the process until ``malloc_trim`` (about 2 MiB of
    resident memory, bench/memory.py). Nothing to do without glibc (musl, macOS)."""
    import ctypes  # noqa: PLC0415 - once, at start

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return
    trim(0)


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    container: ApplicationContainer = app.state.container
    settings: Settings = container.settings()
    with contextlib.suppress(Unavailable):
        await container.read_pool().open()
    stop = asyncio.Event()
    dispatcher: asyncio.Task[None] | None = None
    if settings.dispatch_in_serve:
        # This process renders mails: Jinja2 is loaded now, before the trim below, rather than
        # by the first mail (a module imported under load costs more resident memory).
        container.notifications.renderer().prepare()
        dispatcher = asyncio.create_task(
            run_dispatchers(
                container.notifications.outboxes(),
                stop,
                poll_seconds=settings.outbox_poll_seconds,
                grace_seconds=settings.shutdown_grace_seconds,
            ),
            name="outbox-dispatchers",
        )
    revocations = container.auth.revocations()
    revocation_sync = asyncio.create_task(
        _repeat(
            settings.revocation_sync_seconds,
            lambda: revocations.sync(settings.revocation_sync_seconds),
            stop,
        ),
        name="revocation-sync",
    )
    # Everything built so far lives as long as the process: move it out of the collector's
    # sight, so full collections under load stay short (they stalled the loop ~50 ms).
    gc.collect()
    gc.freeze()
    _return_free_heap()
    try:
        yield
    finally:
        stop.set()
        await revocation_sync
        if dispatcher is not None:
            await dispatcher  # a mail being sent has the grace to finish, then goes back
        await container.notifications.store().close()
        await container.notifications.webhook_queue().close()
        await container.notifications.webhook_sender().aclose()
        await container.read_pool().close()
        await container.redis().aclose()
        await container.auth.identity_providers().aclose()
        await container.engine().dispose()
        container.accounts.hasher().close()


def create_app(
    settings: Settings,
    *,
    container: ApplicationContainer | None = None,
    monitoring: Monitoring | None = None,
) -> FastAPI:
    """Build the API. The settings must already name the database and Redis URLs.

    ``monitoring`` (from ``start_monitoring``) instruments it for Sentry and tracing when on.
    """
    container = container or build_container(settings)
    # Build the secret-bearing singletons now: a missing key or weak pepper refuses to start
    # here, with its own message, instead of failing inside the server's lifespan.
    for module in MODULES:
        for provider in module.eager:
            getattr(getattr(container, module.name), provider)()
    start_mappers()
    wired: list[ModuleType | str] = [
        *SHARED_WIRED,
        *(wired for module in MODULES for wired in module.wired),
        health,
    ]
    container.wire(modules=wired)
    check_wiring(container, wired)

    app = FastAPI(
        title="Gatehouse",
        version=gatehouse.__version__,
        summary="Accounts and authentication API",
        lifespan=_lifespan,
        docs_url=None,  # served by gatehouse.main.http.docs, with no asset from a CDN
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        # FastAPI's own OpenTelemetry export (on when a global provider exists, or with
        # FASTAPI_OTEL_AUTO_CONFIGURE=true) would send spans and exception logs past our
        # scrubber: tracing goes through gatehouse.main.monitoring only.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.state.container = container
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.state.outbox_backlog = Gauge(
        "gatehouse_outbox_backlog", "Mails waiting in the outbox.", registry=registry
    )
    app.state.webhook_backlog = Gauge(
        "gatehouse_webhook_backlog",
        "Webhooks waiting in the outbox (one per event and endpoint).",
        registry=registry,
    )
    install_error_handlers(app)
    for module in MODULES:
        for router in module.routers:
            _add_routes(app, router)
    # Probes are the most frequent and cheapest requests: match them before anything else,
    # FastAPI's own /openapi.json and /docs routes included.
    app.router.routes[:0] = health.router.routes
    _add_routes(app, docs.router)

    if settings.cors_origins:
        app.add_middleware(
            ProblemCorsMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "X-Request-ID"],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "RateLimit",
                "RateLimit-Policy",
            ],
            max_age=600,
        )
    app.add_middleware(
        RequestContextMiddleware,
        metrics=HttpMetrics(registry),
        proxies=TrustedProxies(settings.trusted_proxies),
        max_body_bytes=settings.max_body_bytes,
        hsts=settings.send_hsts,
        monitor=monitoring if monitoring is not None and monitoring.active else None,
    )
    if monitoring is not None:
        monitoring.instrument(app)
    return app
