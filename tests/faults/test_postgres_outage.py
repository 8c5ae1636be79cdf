"""PostgreSQL stopped, restarted and frozen under load, seen from outside: only 503 problems,
each within the contract's 3 s, never a 500; and recovery without restarting Gatehouse."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from gatehouse.testing import PASSWORD
from tests.faults.conftest import (
    CONTRACT_BOUND,
    PROBLEM,
    Answer,
    Servers,
    assert_outage_answer,
    sign_in,
    timed,
    wait_for,
)

pytestmark = [pytest.mark.xdist_group("faults"), pytest.mark.timeout(120)]


@contextlib.contextmanager
def running(sends: list[Callable[[], httpx.Response]]) -> Iterator[Load]:
    load = Load(sends)
    load.start()
    try:
        yield load
    finally:
        load.stop()


class Load:
    """Threads sending requests in a loop, each answer kept with when it was sent."""

    def __init__(self, sends: list[Callable[[], httpx.Response]]) -> None:
        self._sends = sends
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.answers: list[tuple[float, Answer]] = []
        self._threads = [threading.Thread(target=self._run, args=(s,)) for s in sends]

    def _run(self, send: Callable[[], httpx.Response]) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            answer = timed(send)
            with self._lock:
                self.answers.append((sent, answer))

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def since(self, moment: float) -> list[Answer]:
        with self._lock:
            return [answer for sent, answer in self.answers if sent >= moment]

    def between(self, start: float, end: float) -> list[Answer]:
        """Answers to requests sent after ``start`` and answered before ``end``."""
        with self._lock:
            return [a for sent, a in self.answers if sent >= start and sent + a.seconds <= end]


def _sends(
    client: httpx.Client, headers: dict[str, str], email: str
) -> list[Callable[[], httpx.Response]]:
    me = lambda: client.get("/api/v1/me", headers=headers)  # noqa: E731 - the read side
    sessions = lambda: client.get("/api/v1/me/sessions", headers=headers)  # noqa: E731 - the ORM
    login = lambda: client.post(  # noqa: E731 - writes (a new session)
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    return [me, me, me, sessions, login]


def _signed_in(client: httpx.Client) -> tuple[dict[str, str], str]:
    headers = sign_in(client)
    email = client.get("/api/v1/me", headers=headers).json()["email"]
    return headers, email


def test_postgres_stopped_under_load_gives_503_problems_in_time_then_recovers_by_itself(
    servers: Servers, base: str
) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        headers, email = _signed_in(client)
        with running(_sends(client, headers, email)) as load:
            started = time.monotonic()
            wait_for(lambda: len(load.since(started)) >= 20, "answers before the stop")
            servers.postgres.stop("fast")  # under load: backends end, new connections refused
            down = time.monotonic()
            wait_for(lambda: len(load.since(down)) >= 50, "answers while stopped")
            restarting = time.monotonic()
            servers.postgres.start()
            wait_for(
                lambda: client.get("/api/v1/me", headers=headers).status_code == 200,
                "GET /me answers 200 again (no restart of Gatehouse)",
            )
            recovered = time.monotonic()
            wait_for(lambda: len(load.since(recovered)) >= 30, "answers after recovery")

    everything = load.since(0)
    failures = [a for a in everything if a.status >= 500]
    assert failures, "the outage was not seen"
    for answer in failures:  # never a 500: only 503 problems, each within the bound
        assert_outage_answer(answer)
    assert max(a.seconds for a in everything) < CONTRACT_BOUND
    while_down = load.between(down, restarting)
    assert while_down
    assert {a.status for a in while_down} == {503}
    assert {a.status for a in load.since(recovered)} == {200}


def test_postgres_frozen_gives_503_problems_in_time_then_recovers_after_it_thaws(
    servers: Servers, base: str
) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        headers, email = _signed_in(client)
        sends = _sends(client, headers, email) * 5  # 25 requests, 8 at a time
        sends.append(lambda: client.get("/health/ready"))
        servers.postgres.freeze()  # connections stay open; nothing answers
        try:
            with ThreadPoolExecutor(8) as pool:
                frozen = list(pool.map(timed, sends))
        finally:
            servers.postgres.thaw()
        wait_for(
            lambda: client.get("/api/v1/me", headers=headers).status_code == 200,
            "GET /me answers 200 again after the thaw",
        )
        with ThreadPoolExecutor(8) as pool:
            thawed = list(pool.map(timed, sends))

    for answer in frozen[:-1]:
        assert_outage_answer(answer)
    ready = frozen[-1]
    assert (ready.status, ready.content_type) == (503, PROBLEM)
    assert ready.seconds < CONTRACT_BOUND
    assert {a.status for a in thawed} == {200}


@pytest.fixture(autouse=True)
def _postgres_back(servers: Servers) -> Iterator[None]:
    """Whatever a test left behind, the next one starts with PostgreSQL running and thawed."""
    yield
    servers.postgres.thaw()
    if not servers.postgres.running():
        servers.postgres.start()
