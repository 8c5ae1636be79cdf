"""Graceful shutdown, seen from outside: SIGTERM to ``gatehouse serve`` lets a request in flight
finish with its normal answer; SIGTERM to ``gatehouse worker`` hands back the mail it is
sending, and another worker sends it, once."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest

from gatehouse.shared.pg import asyncpg_dsn
from gatehouse.testing import PASSWORD, unique_email
from gatehouse.testing.mail import MailSink, recipients
from tests.faults.conftest import SERVE_ENV, Servers, sign_in, wait_for
from tests.support.processes import HOST, gatehouse_process

pytestmark = [pytest.mark.xdist_group("faults"), pytest.mark.timeout(120)]


class Database:
    """A connection of the test's own to the private server, on a loop of its own."""

    def __init__(self, servers: Servers) -> None:
        assert servers.settings.database_url is not None
        self._loop = asyncio.new_event_loop()
        self._conn: asyncpg.Connection = self._run(
            asyncpg.connect(asyncpg_dsn(servers.settings.database_url))
        )

    def _run(self, coroutine: object) -> object:
        return self._loop.run_until_complete(coroutine)  # type: ignore[arg-type]

    def execute(self, query: str, *args: object) -> None:
        self._run(self._conn.execute(query, *args))

    def value(self, query: str, *args: object) -> object:
        return self._run(self._conn.fetchval(query, *args))

    def close(self) -> None:
        self._run(self._conn.close())
        self._loop.close()


@pytest.fixture
def database(servers: Servers) -> Iterator[Database]:
    db = Database(servers)
    try:
        yield db
    finally:
        db.close()


def _refused(base: str) -> bool:
    try:
        httpx.get(f"{base}/health/live", timeout=1)
    except httpx.ConnectError:
        return True
    except httpx.HTTPError:
        return False
    return False


def test_sigterm_lets_a_request_in_flight_finish_with_its_normal_answer(
    servers: Servers, database: Database
) -> None:
    env = {**SERVE_ENV, "GATEHOUSE_DB_STATEMENT_TIMEOUT_SECONDS": "60"}
    with (
        gatehouse_process(servers.settings, servers.directory, "draining", "serve", **env) as serve,
        httpx.Client(base_url=serve.base, timeout=60) as client,
        ThreadPoolExecutor(1) as background,
    ):
        headers = sign_in(client)
        user_id = client.get("/api/v1/me", headers=headers).json()["id"]
        # Hold the user's row, so the change below waits inside the server: in flight.
        database.execute("BEGIN")
        database.execute("SELECT 1 FROM accounts_user WHERE id = $1 FOR UPDATE", user_id)
        change = background.submit(
            client.patch, "/api/v1/me", json={"display_name": "Drained"}, headers=headers
        )
        waiting = (
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = 'gatehouse' AND wait_event_type = 'Lock'"
        )
        wait_for(lambda: database.value(waiting), "the change waiting on the row lock")

        serve.process.send_signal(signal.SIGTERM)
        wait_for(lambda: _refused(serve.base), "serve no longer accepting connections")
        assert not change.done()
        database.execute("COMMIT")  # the request goes on

        answer = change.result(timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["display_name"] == "Drained"
        assert serve.process.wait(timeout=30) == 0


class BlackHole:
    """A TCP server that accepts connections and never says a word: an SMTP server that hangs
    (its greeting never comes)."""

    def __init__(self) -> None:
        self._server = socket.create_server((HOST, 0))
        self.url = f"smtp://{HOST}:{self._server.getsockname()[1]}"
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return  # closed
            self._held.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self._server.close()
        for conn in self._held:
            conn.close()


def test_sigterm_to_a_worker_hands_back_its_mail_and_another_worker_sends_it_once(
    servers: Servers, base: str, database: Database, mail_sink: MailSink, tmp_path: Path
) -> None:
    database.execute("DELETE FROM notifications_outbox")  # earlier tests' mail
    worker = {
        "GATEHOUSE_OUTBOX_POLL_SECONDS": "0.2",
        "GATEHOUSE_SHUTDOWN_GRACE_SECONDS": "1",
        "GATEHOUSE_SMTP_TIMEOUT_SECONDS": "60",  # the hung send would hold the mail that long
    }
    email = unique_email("handed-back")
    hole = BlackHole()
    try:
        with gatehouse_process(
            servers.settings, tmp_path, "first", "worker", GATEHOUSE_SMTP_URL=hole.url, **worker
        ) as first:
            body = {"email": email, "password": PASSWORD}
            assert httpx.post(f"{base}/api/v1/auth/register", json=body).status_code == 202
            wait_for(hole.accepted.is_set, "the first worker sending the mail", timeout=60)
            claimed = "SELECT count(*) FROM notifications_outbox WHERE status = 'pending'"
            assert database.value(claimed) == 1

            first.process.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            assert first.process.wait(timeout=20) == 0
            assert time.monotonic() - stopping < 10  # the grace (1 s), not the SMTP timeout

        # Handed back as it was: due now, this attempt not counted.
        attempts = "SELECT attempts FROM notifications_outbox WHERE status = 'pending'"
        assert database.value(attempts) == 0
        with gatehouse_process(
            servers.settings, tmp_path, "second", "worker", GATEHOUSE_SMTP_URL=mail_sink.url,
            **worker,
        ):  # fmt: skip
            sent = "SELECT count(*) FROM notifications_outbox WHERE status = 'sent'"
            wait_for(lambda: database.value(sent) == 1, "the second worker sending the mail")
    finally:
        hole.close()

    assert [recipients(message) for message in mail_sink.messages] == [{email}]
