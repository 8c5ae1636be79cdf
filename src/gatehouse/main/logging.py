"""Structured logs: one JSON object per line on standard error.

Standard output belongs to the command: ``create-admin``'s password, ``keys list``'s table,
``serve``'s banner. At the default level (``info``) only Gatehouse's own loggers speak at
``info``; third-party libraries (pgserver, Alembic, uvicorn, ...) are heard from ``warning`` up,
and ``debug`` lets everything through.

Two paths, one format. Library and application messages use the standard ``logging`` module
and are rendered by structlog's ``ProcessorFormatter``. The per-request access line is hot, so
``ACCESS_LOG`` writes it itself (ADR 0011): the same keys in the same order as structlog's
renderer would print them, strings escaped by the ``json`` module's C encoder, the timestamp's
date and seconds formatted once a second, no ``LogRecord``, processor chain or dict per
request, and the lines of one event-loop turn written to standard error together. Below
``info`` it is off and costs one attribute test. The human-readable format (``log_json`` off)
keeps structlog's renderer for it.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import sys
import time
from json.encoder import encode_basestring_ascii as _quote
from typing import TextIO

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.stdlib.ExtraAdder(),
                timestamper,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # Libraries log through the root's level; Gatehouse's own loggers through "gatehouse"'s.
    root.setLevel(_LEVELS[level] if level == "debug" else max(_LEVELS[level], logging.WARNING))
    logging.getLogger("gatehouse").setLevel(_LEVELS[level])
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request

    ACCESS_LOG.configure(_LEVELS[level] <= logging.INFO, sys.stderr if json else None)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            _logger_name,
            timestamper,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.WriteLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def _logger_name(
    _logger: object, _method_name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Native loggers carry their name as ``logger_name``; print it as ``logger``, like stdlib's."""
    name = event_dict.pop("logger_name", None)
    if name is not None:
        event_dict["logger"] = name
    return event_dict


class AccessLog:
    """The one line a request writes, as structlog's JSON renderer would print it, for less.

    Keys in this order: ``method``, ``path``, ``route``, ``status``, ``duration_ms``,
    ``request_id``, ``client_ip``, ``event`` (``"request"``), ``level``, ``logger``,
    ``timestamp`` (UTC, ISO 8601 with microseconds and ``Z``).

    In an event loop the lines of the requests that end in one turn of it are written together
    at the start of the next turn, one ``write`` for all of them: a system call a line was the
    larger part of the line's cost under load. Outside a loop a line is written at once; lines
    still waiting when the process exits are written then.
    """

    _TAIL = '"event": "request", "level": "info", "logger": "gatehouse.access", "timestamp": "'

    def __init__(self) -> None:
        self.enabled = False
        self._stream: TextIO | None = None
        self._second = -1
        self._second_text = ""
        self._fallback = structlog.get_logger(logger_name="gatehouse.access")
        self._pending: list[str] = []  # this loop turn's lines; a flush is scheduled if any
        self._flushing_on: asyncio.AbstractEventLoop | None = None
        atexit.register(self.flush)

    def configure(self, enabled: bool, stream: TextIO | None) -> None:
        """On or off; ``stream`` for the JSON line, ``None`` to render through structlog."""
        self.flush()
        self.enabled = enabled
        self._stream = stream

    def flush(self) -> None:
        """Write the lines waiting for the next loop turn now."""
        if self._pending:
            lines, self._pending = self._pending, []
            if self._stream is not None:
                self._stream.write("".join(lines))

    def write(
        self,
        *,
        method: str,
        path: str,
        route: str,
        status: int,
        duration_ms: float,
        request_id: str,
        client_ip: str | None,
    ) -> None:
        stream = self._stream
        if stream is None:
            self._fallback.info(
                "request",
                method=method,
                path=path,
                route=route,
                status=status,
                duration_ms=duration_ms,
                request_id=request_id,
                client_ip=client_ip,
            )
            return
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        ip = "null" if client_ip is None else _quote(client_ip)
        line = (
            f'{{"method": {_quote(method)}, "path": {_quote(path)}, "route": {_quote(route)}, '
            f'"status": {status}, "duration_ms": {duration_ms!r}, '
            f'"request_id": {_quote(request_id)}, "client_ip": {ip}, {self._TAIL}'
            f'{self._second_text}.{int((now - second) * 1_000_000):06d}Z"}}\n'
        )
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._pending and self._flushing_on is loop:  # this turn's flush is scheduled
            self._pending.append(line)
            return
        self.flush()  # lines left by a loop that stopped before its flush ran
        if loop is None:
            stream.write(line)
            return
        self._pending.append(line)
        self._flushing_on = loop
        loop.call_soon(self.flush)


ACCESS_LOG = AccessLog()
