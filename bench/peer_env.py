"""The peers: their own environment, ``bench/.peers-venv`` (git-ignored), created with uv from
``bench/peers/requirements.txt`` (PyPI), never touching the product's ``.venv`` and made again
only when the requirements change; and what the runner does with fastapi-users' app (the bench
user registered there, its tokens)."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from bench import fixtures
from bench.servers import ROOT

VENV = ROOT / "bench" / ".peers-venv"
REQUIREMENTS = ROOT / "bench" / "peers" / "requirements.txt"
_STAMP = VENV / ".requirements-sha256"


def _uv() -> str | None:
    found = shutil.which("uv")
    local = ROOT / ".tools" / "bin" / "uv"  # where `make install` puts it
    return found or (str(local) if local.is_file() else None)


def ensure_peers_venv() -> tuple[Path | None, str]:
    """The peers' Python, or None and why not (the run goes on without the peers)."""
    python = VENV / "bin" / "python"
    wanted = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if python.is_file() and _STAMP.is_file() and _STAMP.read_text().strip() == wanted:
        return python, "up to date"
    uv = _uv()
    if uv is None:
        return None, "uv not found (run `make install`, or put uv on the PATH)"
    env_python = str(Path(sys.executable).resolve())  # the machine's Python, never a download
    steps = [
        [uv, "venv", "--quiet", "--clear", str(VENV), "--python", env_python],
        [uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(REQUIREMENTS)],
    ]
    for step in steps:
        done = subprocess.run(
            step,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        if done.returncode != 0:
            return None, f"`{' '.join(step[:3])}` failed: {done.stderr.strip()[-500:]}"
    _STAMP.write_text(wanted + "\n")
    return python, "created"


def peer_environment(infra: fixtures.Infrastructure) -> dict[str, str]:
    """fastapi-users' app on the bench database (its own ``user`` table), a fresh secret."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")},
        "BENCH_PEER_DATABASE_URL": infra.database_url,
        "BENCH_PEER_SECRET": secrets.token_urlsafe(32),
    }


def register(base_url: str, user: fixtures.BenchUser) -> None:
    """The bench user, with the same address and password, in fastapi-users' table."""
    status, body = fixtures.request_json(
        f"{base_url}/auth/register", {"email": user.email, "password": user.password}
    )
    if status not in {201, 400}:  # 400 REGISTER_USER_ALREADY_EXISTS: a second instance
        msg = f"fastapi-users register answered {status}: {body}"
        raise RuntimeError(msg)


def login(base_url: str, user: fixtures.BenchUser) -> str:
    """An access token from ``POST /auth/jwt/login`` (form fields, as OAuth2's password flow)."""
    if not base_url.startswith("http://127.0.0.1:"):
        msg = f"the bench only talks to 127.0.0.1, not {base_url}"
        raise ValueError(msg)
    form = urllib.parse.urlencode({"username": user.email, "password": user.password})
    request = urllib.request.Request(
        f"{base_url}/auth/jwt/login",
        data=form.encode("ascii"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        token: str = json.loads(response.read())["access_token"]
    return token
