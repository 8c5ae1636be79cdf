"""The per-request access line: one JSON object per line, as structlog's renderer prints it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import structlog
from prometheus_client import CollectorRegistry
from starlette.types import Message, Receive, Scope, Send

from gatehouse.main.http.middleware import HttpMetrics, RequestContextMiddleware, TrustedProxies
from gatehouse.main.logging import ACCESS_LOG, AccessLog, _logger_name, configure_logging

FIELDS = {
    "method": "GET",
    "path": '/odd "path"\\\u00e9\n\u2028',
    "route": "/health/live",
    "status": 200,
    "duration_ms": 0.123,
    "request_id": "req-1",
    "client_ip": None,
}


def _structlog_line() -> str:
    """The line structlog's native chain (gatehouse.main.logging's, less the timestamper) renders
    for the same request: what the access line was before it was written by hand."""
    event: structlog.types.EventDict = {
        "logger_name": "gatehouse.access",
        **FIELDS,
        "event": "request",
    }
    event = structlog.processors.add_log_level(None, "info", event)
    event = _logger_name(None, "info", event)
    rendered = structlog.processors.JSONRenderer()(None, "info", event)
    assert isinstance(rendered, str)
    return rendered


def test_the_line_has_structlogs_keys_order_and_escaping_and_a_utc_timestamp() -> None:
    stream = io.StringIO()
    log = AccessLog()
    log.configure(True, stream)
    before = datetime.now(UTC)
    log.write(**FIELDS)  # type: ignore[arg-type]
    text = stream.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1  # one line, however odd the path
    line = json.loads(text)
    timestamp = line.pop("timestamp")
    assert list(line.items()) == list(json.loads(_structlog_line()).items())
    assert text.startswith(_structlog_line()[:-1] + ', "timestamp": "')
    assert timestamp.endswith("Z")
    stamped = datetime.fromisoformat(timestamp)
    assert before.replace(microsecond=0) <= stamped <= datetime.now(UTC)


@pytest.fixture
def logging_restored() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back afterwards."""
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("gatehouse", "uvicorn", "uvicorn.error")]
    access = logging.getLogger("uvicorn.access")
    saved = (
        root.handlers[:],
        root.level,
        [(lg.level, lg.handlers[:], lg.propagate) for lg in loggers],
    )
    saved_access, config = access.disabled, structlog.get_config()
    saved_log = (ACCESS_LOG.enabled, ACCESS_LOG._stream)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for lg, (level, handlers, propagate) in zip(loggers, saved[2], strict=True):
        lg.level, lg.handlers[:], lg.propagate = level, handlers, propagate
    access.disabled = saved_access
    structlog.configure(**config)
    ACCESS_LOG.configure(*saved_log)


@pytest.mark.usefixtures("logging_restored")
@pytest.mark.parametrize(
    ("level", "json_format", "enabled", "hand_written"),
    [("info", True, True, True), ("debug", False, True, False), ("warning", True, False, True)],
)
def test_the_line_is_on_from_info_and_hand_written_only_in_json(
    level: str, json_format: bool, enabled: bool, hand_written: bool
) -> None:
    configure_logging(level, json=json_format)
    assert ACCESS_LOG.enabled is enabled
    assert (ACCESS_LOG._stream is sys.stderr) is hand_written


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_the_middleware_writes_one_line_a_request_without_the_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(ACCESS_LOG, "enabled", True)
    monkeypatch.setattr(ACCESS_LOG, "_stream", stream)
    middleware = RequestContextMiddleware(
        _app,
        metrics=HttpMetrics(CollectorRegistry()),
        proxies=TrustedProxies([]),
        max_body_bytes=1024,
        hsts=False,
    )

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(_message: Message) -> None:
        return None

    async def requests() -> None:
        for request_id in (b"first", b"second"):
            scope = {
                "type": "http",
                "method": "GET",
                "path": "/api/v1/me",
                "query_string": b"token=s3cret",
                "headers": [(b"x-request-id", request_id)],
                "client": ("203.0.113.7", 4000),
            }
            await middleware(scope, receive, send)

    asyncio.run(requests())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["request_id"], line["status"], line["route"]) for line in lines] == [
        ("first", 204, "unmatched"),
        ("second", 204, "unmatched"),
    ]
    assert lines[0]["path"] == "/api/v1/me"
    assert lines[0]["client_ip"] == "203.0.113.7"
    assert "s3cret" not in stream.getvalue()


class _Writes(io.StringIO):
    """A stream that counts its ``write`` calls (a system call each, on standard error)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def write(self, text: str) -> int:
        self.calls += 1
        return super().write(text)


def _line(log: AccessLog, request_id: str) -> None:
    log.write(
        method="GET",
        path="/health/live",
        route="/health/live",
        status=200,
        duration_ms=0.1,
        request_id=request_id,
        client_ip=None,
    )


def _ids(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()]


def test_the_lines_of_one_loop_turn_are_written_together_at_the_next() -> None:
    log, stream = AccessLog(), _Writes()
    log.configure(True, stream)

    async def turn() -> list[str]:
        for request_id in ("a", "b", "c"):
            _line(log, request_id)
        written_meanwhile = _ids(stream)
        await asyncio.sleep(0)  # the next turn
        return written_meanwhile

    assert asyncio.run(turn()) == []
    assert _ids(stream) == ["a", "b", "c"]
    assert stream.calls == 1


def test_outside_a_loop_a_line_is_written_at_once_after_any_left_waiting() -> None:
    log, stream = AccessLog(), _Writes()
    log.configure(True, stream)
    loop = asyncio.new_event_loop()

    def last_callback() -> None:
        _line(log, "waiting")
        loop.stop()  # the loop ends with this turn: its flush never runs

    loop.call_soon(last_callback)
    loop.run_forever()
    loop.close()
    assert _ids(stream) == []

    _line(log, "now")

    assert _ids(stream) == ["waiting", "now"]
