"""The contract's head limits, against a real ``gatehouse serve`` over raw sockets: a URL over
8 KiB is 414, a header section over 32 KiB is 431, each a problem document, and many clients
sending huge header blocks do not grow the server's memory."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gatehouse.testing.app import testing_settings as settings_for
from gatehouse.testing.infra import Infra
from tests.e2e.conftest import assert_problem
from tests.support.processes import HOST, gatehouse_serve

pytestmark = pytest.mark.xdist_group("cli")

KIB = 1024


@pytest.fixture(scope="module")
def server(
    infra: Infra, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int]]:
    """A ``gatehouse serve`` on the worker's database: its port and process id."""
    settings = settings_for(
        database_url=infra.database_url, redis_url=infra.redis_url, data_dir=data_dir
    )
    with gatehouse_serve(settings, tmp_path_factory.mktemp("limits"), "limits") as base:
        port = urlsplit(base).port
        assert port is not None
        yield port, _pid_listening_on(port)


def _pid_listening_on(port: int) -> int:
    """The child process of this one that serves ``port`` (its command line names the port)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
            if parent == os.getpid() and b"serve" in arguments and str(port).encode() in arguments:
                return int(entry.name)
    msg = f"no child process serves port {port}"
    raise AssertionError(msg)


def _memory_kib(pid: int, field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (the peak) of ``pid``, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    msg = f"no {field} for {pid}"
    raise AssertionError(msg)


def _read_response(connection: socket.socket) -> httpx.Response:
    """One HTTP/1.1 response, read until the server closes (every refusal closes)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [(name, value) for name, _, value in (line.partition(": ") for line in lines)]
    return httpx.Response(int(status_line.split()[1]), headers=headers, content=body)


def exchange(port: int, request: bytes) -> httpx.Response:
    with socket.create_connection((HOST, port), timeout=10) as connection:
        connection.sendall(request)
        if b"connection: close" not in request.lower():
            connection.shutdown(socket.SHUT_WR)
        return _read_response(connection)


def get(target: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {target} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_header_section_over_32_kib_is_a_431_problem_and_the_connection_closes(
    server: tuple[int, int],
) -> None:
    response = exchange(server[0], get("/health/live", {"X-Big": "a" * (33 * KIB)}))
    body = assert_problem(response, 431, "headers_too_large")
    assert "32 KiB" in body["detail"]
    assert response.headers["connection"] == "close"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_head_limits_hold_for_an_in_process_client_too(
    client: httpx.AsyncClient,
) -> None:
    """``gatehouse serve`` refuses these as they arrive (the tests around this one); an
    ASGI client's requests are checked by the middleware, with the same answers."""
    big = {"x-big": "a" * (33 * 1024)}
    assert_problem(await client.get("/health/live", headers=big), 431, "headers_too_large")
    long_url = "/api/v1/me?pad=" + "b" * (9 * 1024)
    assert_problem(await client.get(long_url), 414, "url_too_long")
    under = await client.get("/health/live?pad=" + "c" * 7000, headers={"x-big": "d" * 31000})
    assert under.status_code == 200


def test_many_small_headers_over_32_kib_together_are_a_431_problem(
    server: tuple[int, int],
) -> None:
    many = {f"X-Part-{index}": "b" * 500 for index in range(70)}  # 70 x ~512 bytes
    assert_problem(exchange(server[0], get("/health/live", many)), 431, "headers_too_large")


@pytest.mark.parametrize("size", [9 * KIB, 100 * KIB])
def test_a_url_over_8_kib_is_a_414_problem(server: tuple[int, int], size: int) -> None:
    target = "/api/v1/me?pad=" + "c" * size
    body = assert_problem(exchange(server[0], get(target)), 414, "url_too_long")
    assert "8 KiB" in body["detail"]


def test_a_head_just_under_the_limits_is_served(server: tuple[int, int]) -> None:
    target = "/health/live?pad=" + "d" * (7 * KIB)
    response = exchange(server[0], get(target, {"X-Big": "e" * (31 * KIB)}))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


def test_bytes_that_are_not_http_get_a_400_problem(server: tuple[int, int]) -> None:
    response = exchange(server[0], b"NOT HTTP AT ALL\x00\r\n\r\n")
    assert_problem(response, 400, "bad_request")


def test_the_connection_still_serves_requests_within_the_limits(server: tuple[int, int]) -> None:
    """Keep-alive: each request's head is counted on its own."""
    one = get("/health/live", {"X-Big": "f" * (20 * KIB)}).replace(b"Connection: close", b"X: y")
    with socket.create_connection((HOST, server[0]), timeout=10) as connection:
        connection.sendall(one + one + get("/health/live", {"X-Big": "f" * (20 * KIB)}))
        received = _read_response(connection)
    assert received.status_code == 200
    assert received.content.count(b'{"status":"ok"}') == 3


CLIENTS = 10
STREAMED_BYTES = 8 * 1024 * KIB  # each client's header block, never ended
# The contract's memory promise: each connection holds at most ~40 KiB of head. Ten clients
# streaming 80 MB in all may move the peak by allocator noise, never by what they send.
PEAK_GROWTH_BOUND_KIB = 24 * KIB


def _stream_huge_header(port: int, statuses: list[int]) -> None:
    with socket.create_connection((HOST, port), timeout=10) as connection:
        connection.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        block = b"g" * (64 * KIB)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(STREAMED_BYTES // len(block)):
                connection.sendall(block)
        with contextlib.suppress(OSError):
            statuses.append(_read_response(connection).status_code)


def test_many_clients_streaming_huge_headers_do_not_grow_the_servers_memory(
    server: tuple[int, int],
) -> None:
    port, pid = server
    assert exchange(port, get("/health/live")).status_code == 200  # warmed up
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current RSS
    before = _memory_kib(pid, "VmHWM")
    statuses: list[int] = []
    clients = [
        threading.Thread(target=_stream_huge_header, args=(port, statuses)) for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=60)
    assert not any(client.is_alive() for client in clients)
    grown = _memory_kib(pid, "VmHWM") - before  # the peak, whenever it was reached
    assert grown < PEAK_GROWTH_BOUND_KIB, f"the peak RSS grew by {grown} KiB"
    # Clients that read an answer read a 431 (the others were cut off while still sending).
    assert set(statuses) <= {431}
    assert exchange(port, get("/health/live")).status_code == 200  # still serving
