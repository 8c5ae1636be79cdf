"""A real webhook receiver: an HTTP server (the standard library's) on 127.0.0.1, on a thread,
that answers every POST with ``status`` and keeps what it got, and secrets to sign with.

``stop()`` / ``start()`` simulate an outage: the port stays the same, so the configured URL
reaches it again. ``hold()`` keeps requests waiting (unanswered) until ``release()``.
``delay`` makes each answer take that long (a slow receiver, so concurrent dispatchers overlap).
``wait_for`` blocks on a condition the handler signals: no polling. Signatures are checked
with the ``standardwebhooks`` package (``verified``), never with the code under test.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from gatehouse.modules.notifications.domain.webhooks import WebhookEndpoint, WebhookSecret
from gatehouse.testing.mail import free_port

HOST = "127.0.0.1"
PATH = "/hooks/gatehouse"


def new_secret(size: int = 32) -> str:
    """A fresh ``whsec_`` secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(size)).decode()


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    def verify(self, secret: str) -> dict[str, Any]:
        """The payload, once ``standardwebhooks`` has checked the signature with ``secret``
        (and the timestamp against the real time: five minutes either way)."""
        value: dict[str, Any] = Webhook(secret).verify(self.body, self.headers)
        return value


class WebhookReceiver:
    def __init__(self, host: str = HOST, port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.secret = new_secret()
        self.status = 204
        self.delay = 0.0
        self.received: list[Delivery] = []  # what it accepted (answered with a 2xx)
        self.attempts: list[Delivery] = []  # every POST, whatever the answer
        self.arrivals = 0  # POSTs that reached it (held ones included)
        self._arrived = threading.Condition()
        self._gate = threading.Event()
        self._gate.set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PATH}"

    def endpoint(self, *secrets: str, events: frozenset[str] | None = None) -> WebhookEndpoint:
        """This receiver as an endpoint, signed with ``secrets`` (its own by default)."""
        chosen = secrets or (self.secret,)
        return WebhookEndpoint(
            url=self.url,
            secrets=tuple(WebhookSecret.parse(secret) for secret in chosen),
            events=events,
        )

    def start(self) -> None:
        if self._server is not None:
            return
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver._arrive()
                receiver._gate.wait(timeout=30)
                if receiver.delay:
                    time.sleep(receiver.delay)  # a slow receiver, not a wait for a condition
                status = receiver.status
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver._record(Delivery(self.path, headers, body), kept=200 <= status < 300)
                self.send_response(status)
                if 300 <= status < 400:  # a redirect says where to
                    self.send_header("Location", f"http://{receiver.host}:{receiver.port}/else")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        server = ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def _arrive(self) -> None:
        with self._arrived:
            self.arrivals += 1
            self._arrived.notify_all()

    async def wait_for_arrivals(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109 - as wait_for
    ) -> None:
        """Return once ``count`` POSTs have reached it, answered or held."""

        def arrived() -> bool:
            with self._arrived:
                return self._arrived.wait_for(lambda: self.arrivals >= count, timeout)

        if not await asyncio.to_thread(arrived):
            msg = f"expected {count} request(s) within {timeout} s, got {self.arrivals}"
            raise TimeoutError(msg)

    def _record(self, delivery: Delivery, *, kept: bool) -> None:
        with self._arrived:
            self.attempts.append(delivery)
            if kept:
                self.received.append(delivery)
            self._arrived.notify_all()

    def _wait(self, count: int, timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.received) >= count, timeout)

    async def wait_for(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109 - as SmtpServer.wait_for; the wait runs in a thread
    ) -> list[Delivery]:
        """The first ``count`` deliveries, once that many have been accepted."""
        if not await asyncio.to_thread(self._wait, count, timeout):
            msg = f"expected {count} webhook(s) within {timeout} s, got {len(self.received)}"
            raise TimeoutError(msg)
        with self._arrived:
            return self.received[:count]

    def clear(self) -> None:
        with self._arrived:
            self.received.clear()
            self.attempts.clear()
            self.arrivals = 0


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[WebhookReceiver]:
    """``receiver``: a started receiver of the test's own (a suite imports
    ``receiver_fixture`` to use it)."""
    server = WebhookReceiver()
    server.start()
    yield server
    server.release()
    server.stop()
