"""A real browser against real servers: Debian's Chromium, driven by Playwright.

The browser is ``/usr/bin/chromium`` (``apt-get install chromium``); Playwright never downloads
one of its own. Where that file is absent every test here is skipped, saying so.

Chromium resolves two made-up names to this machine (``--host-resolver-rules``), so a page
on ``app.example.test`` and the API on ``api.example.test`` are sibling hosts of one site, as
``app.example.com`` and ``api.example.com`` are in production. Every request to any other host
is aborted and recorded: the tests also prove that nothing is loaded from the internet.

One ``gatehouse serve`` process (on the test database and Redis, plain http, so
``GATEHOUSE_COOKIE_SECURE=false``) serves the tests (``servers``), with a static server for the
app's page on the app host, and a small reverse proxy that serves the page and the API on one
host. test_social_login.py starts another, configured with an OpenID provider of its own.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from gatehouse.main.settings import Settings
from gatehouse.testing.infra import Infra
from gatehouse.testing.mail import free_port
from tests.support.processes import HOST, gatehouse_serve

CHROMIUM = Path("/usr/bin/chromium")
API_HOST = "api.example.test"
APP_HOST = "app.example.test"
LOCAL_HOSTS = frozenset({HOST, "localhost", API_HOST, APP_HOST})
SPA_DIR = Path(__file__).parent / "spa"
PASSWORD = "correct horse battery staple"
TIMEOUT_MS = 10_000  # any single browser step; the whole suite takes a few seconds


class _AppHandler(SimpleHTTPRequestHandler):
    """The app's static files; with ``upstream`` set, every other path is passed on to it, as a
    reverse proxy serving an app and its API on one host does."""

    upstream: str | None = None
    HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "host"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass

    def _proxied(self) -> bool:
        if self.upstream is None or self.path.startswith("/app/"):
            return False
        length = int(self.headers.get("content-length") or 0)
        answer = httpx.request(
            self.command,
            f"{self.upstream}{self.path}",
            headers=[(k, v) for k, v in self.headers.items() if k.lower() not in self.HOP_BY_HOP],
            content=self.rfile.read(length) if length else None,
            timeout=10,
        )
        self.send_response(answer.status_code)
        for key, value in answer.headers.multi_items():
            if key.lower() not in self.HOP_BY_HOP | {"content-length"}:
                self.send_header(key, value)
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)
        return True

    def do_GET(self) -> None:
        if not self._proxied():
            self.path = self.path.removeprefix("/app")
            super().do_GET()

    def do_POST(self) -> None:
        if not self._proxied():
            self.send_error(405)

    do_OPTIONS = do_POST  # noqa: N815 - http.server's naming


@contextlib.contextmanager
def app_server(port: int = 0, upstream: str | None = None) -> Iterator[int]:
    """The app's page (tests/browser/spa) over http on 127.0.0.1, at ``/app/``; with
    ``upstream``, everything else is proxied there. Yields the port."""
    handler = functools.partial(
        type("Handler", (_AppHandler,), {"upstream": upstream}), directory=str(SPA_DIR)
    )
    server = ThreadingHTTPServer((HOST, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="app-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Servers:
    app: str  # http://app.example.test:PORT: only the app's page (sibling host of the API)
    api: str  # http://api.example.test:PORT: Gatehouse itself, the API host for that app
    front: str  # http://api.example.test:PORT: the app's page and, proxied, the API (one host)
    direct: str  # http://127.0.0.1:PORT: Gatehouse, for the test's own httpx calls

    def new_account(self, prefix: str = "browser") -> str:
        """A fresh account that can sign in (the server does not require a verified address)."""
        email = f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"
        response = httpx.post(
            f"{self.direct}/api/v1/auth/register",
            json={"email": email, "password": PASSWORD},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        return email


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM}: the browser tests use Debian's chromium "
            "(apt-get install -y chromium); Playwright's own browsers are never downloaded"
        )
    resolver = f"MAP {APP_HOST} {HOST}, MAP {API_HOST} {HOST}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[f"--host-resolver-rules={resolver}"],
            timeout=TIMEOUT_MS,
        )
        try:
            yield browser
        finally:
            browser.close()


def serve_settings(infra: Infra, data_dir: Path) -> Settings:
    """What ``gatehouse_serve`` needs: this worker's database and Redis, the session's keys."""
    return Settings(
        env="test",
        database_url=infra.database_url,
        redis_url=infra.redis_url,
        data_dir=data_dir,
        _env_file=None,
    )


@pytest.fixture(scope="package")
def servers(
    chromium: Browser, infra: Infra, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    settings = serve_settings(infra, data_dir)
    api_port, front_port = free_port(HOST), free_port(HOST)
    api = f"http://{API_HOST}:{api_port}"
    front = f"http://{API_HOST}:{front_port}"  # the public address: app and API on one host
    with app_server() as app_port:
        app = f"http://{APP_HOST}:{app_port}"
        with (
            gatehouse_serve(
                settings,
                tmp_path_factory.mktemp("browser"),
                "browser-api",
                GATEHOUSE_PORT=str(api_port),
                GATEHOUSE_PUBLIC_URL=front,
                GATEHOUSE_CORS_ORIGINS=app,
                GATEHOUSE_COOKIE_SECURE="false",  # plain http on a host that is not localhost
                GATEHOUSE_REQUIRE_VERIFIED_EMAIL="false",
                GATEHOUSE_RATE_LIMIT_LOGIN="1000/minute",
                GATEHOUSE_RATE_LIMIT_REGISTER="1000/minute",
                GATEHOUSE_RATE_LIMIT_REFRESH="1000/minute",
            ) as direct,
            app_server(front_port, upstream=direct),
        ):
            yield Servers(app=app, api=api, front=front, direct=direct)


@dataclass
class Offline:
    """What the page tried to load from anywhere but this machine (all of it aborted)."""

    blocked: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in {"http", "https", "ws", "wss"} and url.hostname not in LOCAL_HOSTS:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()


@pytest.fixture
def offline() -> Offline:
    return Offline()


@contextlib.contextmanager
def offline_context(chromium: Browser, offline: Offline) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) with no internet; closed on exit."""
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", offline.route)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def context(chromium: Browser, offline: Offline) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) with no internet."""
    with offline_context(chromium, offline) as context:
        yield context


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
