"""The request-context middleware: pure ASGI, one per app, on every request.

In one pass it: assigns the request id (echoing a well-formed incoming one), settles the
client address (trusting ``X-Forwarded-For`` only from configured proxies), answers a request
over the head limits (414, 431: ``gatehouse.main.http.limits``), caps the body size (413),
adds the security headers and ``X-Request-ID`` (and the ``RateLimit-*`` headers when a rate
limit counted the request, whatever produced the answer), turns an unexpected exception into
a 500 problem, records Prometheus metrics and writes one structured log line.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import logging
import re
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from contextvars import ContextVar, Token
from itertools import accumulate
from secrets import token_hex
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Metric
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gatehouse.main.http.errors import framework_problem
from gatehouse.main.http.limits import DETAILS, refusal
from gatehouse.main.logging import ACCESS_LOG
from gatehouse.shared.http.rate_limits import counted_headers

REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# The id of the request being handled, for monitoring (set only when a monitor is configured):
# spans started and Sentry events captured while handling it carry it.
CURRENT_REQUEST_ID: ContextVar[str | None] = ContextVar("gatehouse_request_id", default=None)

log = logging.getLogger("gatehouse.http")

API_CSP = b"default-src 'none'; frame-ancestors 'none'"
# Swagger UI on /docs (gatehouse.main.http.docs): every script and style from this server, no
# inline script; images from here or data: URLs (the stylesheet's icons); the document and the
# Authorize button's token request go to this server.
DOCS_CSP = (
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = frozenset({"/docs"})
# The pages mailed links open (accounts' entrypoints/http/pages.py): HTML forms posting to
# themselves, inline styles only, no script.
PAGE_CSP = (
    b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
    b"frame-ancestors 'none'"
)
PAGE_PATHS = frozenset({"/verify-email", "/confirm-email", "/reset-password", "/forgot-password"})


class BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413)


class HttpMetrics(Collector):
    """Request counts and latencies, kept as plain numbers and exported at scrape time.

    Every observation happens on the event loop's thread, and so does the scrape (``/metrics``
    is an async route), so no lock is needed: recording a request is a dict update and a
    bisect, instead of the client library's locked counters (measured: a third of this
    middleware's cost). ``collect`` renders the standard counter and histogram families.
    """

    BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[tuple[str, str], list[float]] = {}  # bucket counts..., +Inf, sum
        registry.register(self)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        series = self._latency.get((method, route))
        if series is None:
            series = self._latency[method, route] = [0.0] * (len(self.BUCKETS) + 2)
        series[bisect_left(self.BUCKETS, seconds)] += 1
        series[-1] += seconds

    def describe(self) -> Iterator[Metric]:
        return iter(())

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gatehouse_http_requests",
            "HTTP requests by route template, method and status.",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in self._requests.items():
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "gatehouse_http_request_duration_seconds",
            "HTTP request latency by route template and method.",
            labels=["method", "route"],
        )
        for (method, route), series in self._latency.items():
            cumulative = list(accumulate(series[:-1]))
            buckets = [(str(bound), cumulative[i]) for i, bound in enumerate(self.BUCKETS)]
            buckets.append(("+Inf", cumulative[-1]))
            latency.add_metric([method, route], buckets, sum_value=series[-1])
        yield latency


class TrustedProxies:
    """Which address a request came from, believing ``X-Forwarded-For`` only from the proxies
    configured. The answer is a pure function of the peer and the header, remembered for the
    last ``CACHED`` pairs: parsing addresses and testing networks cost about 7–9 µs a request,
    where a behind-a-proxy deployment sees the same few peers and a client's same header on
    every request of its connection."""

    CACHED = 4096

    def __init__(self, proxies: Sequence[str]) -> None:
        self._networks = [ipaddress.ip_network(proxy, strict=False) for proxy in proxies]
        self.configured = bool(self._networks)
        self._decide = functools.lru_cache(maxsize=self.CACHED)(self._client_ip)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> str | None:
        if peer is None or not self._networks:
            return peer
        return self._decide(peer, forwarded_for)

    def _client_ip(self, peer: str, forwarded_for: str | None) -> str:
        if not self._trusted(peer):
            return peer
        hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer
        return peer


class RequestMonitor(Protocol):
    """Error monitoring and tracing (gatehouse.main.monitoring), told about each request."""

    def request_started(self, request_id: str) -> None: ...

    def request_failed(self, error: Exception) -> None: ...


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: HttpMetrics,
        proxies: TrustedProxies,
        max_body_bytes: int,
        hsts: bool,
        monitor: RequestMonitor | None = None,
    ) -> None:
        self.app = app
        self.monitor = monitor
        self.metrics = metrics
        self.proxies = proxies
        self.max_body = max_body_bytes
        self.hsts = hsts
        self._id_prefix = token_hex(10)
        self._id_counter = itertools.count(1)
        self._header_sets = {
            (kind, hsts): self._static_headers(kind, hsts=hsts)
            for kind in ("docs", "page", "api", "other")
            for hsts in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            incoming if incoming and REQUEST_ID.fullmatch(incoming) else self._next_request_id()
        )
        peer = scope["client"][0] if scope.get("client") else None
        client_ip = peer
        if self.proxies.configured:
            forwarded = headers.get(b"x-forwarded-for")
            client_ip = self.proxies.client_ip(
                peer, forwarded.decode("latin-1") if forwarded else None
            )
        # A dict of this request's own: a server may hand every request the same lifespan
        # state dict (asgi-lifespan does; uvicorn copies it), and concurrent requests would
        # then read each other's request id and client IP.
        state = scope["state"] = dict(scope.get("state") or {})
        state["request_id"] = request_id
        state["client_ip"] = client_ip
        path: str = scope["path"]
        status = 500
        response_started = False
        extra_headers = self._headers(request_id, path, scope.get("scheme") == "https")
        context = self._monitor_started(request_id) if self.monitor is not None else None

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    *extra_headers,
                    *counted_headers(state),  # a rate limit counted this request
                ]
            await send(message)

        try:
            refused = self._refused(scope, headers)
            if refused is not None:
                status = refused
                problem = framework_problem(scope, refused, DETAILS.get(refused))
                await problem(scope, receive, self._wrap(send, extra_headers))
                return
            if b"content-length" in headers or b"transfer-encoding" in headers:
                receive = self._limited(receive)  # only a request with a body pays for counting
            await self.app(scope, receive, send_wrapper)
        except Exception as error:
            if self.monitor is not None:
                self.monitor.request_failed(error)
            log.exception("unhandled error", extra={"request_id": request_id, "path": path})
            if response_started:
                raise
            status = 500
            await framework_problem(scope, 500, "Something went wrong on our side.")(
                scope, receive, send_wrapper
            )
        finally:
            self._finish(scope, started, status, request_id, client_ip)
            if context is not None:
                CURRENT_REQUEST_ID.reset(context)

    def _refused(self, scope: Scope, headers: dict[bytes, bytes]) -> int | None:
        """414 or 431 for an overlong head (or 400 for one that was not HTTP), 413 for a body
        declared over the limit; ``None`` for a request to hand to the app."""
        refused = refusal(scope)
        if refused is not None:
            return refused
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            return 413
        return None

    def _monitor_started(self, request_id: str) -> Token[str | None]:
        assert self.monitor is not None
        context = CURRENT_REQUEST_ID.set(request_id)
        self.monitor.request_started(request_id)
        return context

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
            return message

        return limited_receive

    def _next_request_id(self) -> str:
        """A process-unique id: a random per-process prefix and a counter (cheaper than urandom)."""
        return f"{self._id_prefix}{next(self._id_counter):012x}"

    @staticmethod
    def _wrap(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return wrapped

    @staticmethod
    def _static_headers(kind: str, *, hsts: bool) -> tuple[tuple[bytes, bytes], ...]:
        csp = {"docs": DOCS_CSP, "page": PAGE_CSP}.get(kind, API_CSP)
        headers = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),  # pages carry a token in their URL
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", csp),
        ]
        if kind in {"api", "page"}:
            headers.append((b"cache-control", b"no-store"))
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        return tuple(headers)

    def _headers(self, request_id: str, path: str, https: bool) -> list[tuple[bytes, bytes]]:
        """The security headers (built once per kind of path) and this request's id."""
        if path.startswith("/api/"):
            kind = "api"
        elif path in PAGE_PATHS:
            kind = "page"
        else:
            kind = "docs" if path in DOCS_PATHS else "other"
        static = self._header_sets[kind, self.hsts or https]
        return [(b"x-request-id", request_id.encode("ascii")), *static]

    def _finish(
        self, scope: Scope, started: float, status: int, request_id: str, client_ip: str | None
    ) -> None:
        duration = time.perf_counter() - started
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope["method"]
        self.metrics.observe(method, template, status, duration)
        if ACCESS_LOG.enabled:
            ACCESS_LOG.write(
                method=method,
                path=scope["path"],
                route=template,
                status=status,
                duration_ms=round(duration * 1000, 3),
                request_id=request_id,
                client_ip=client_ip,
            )
