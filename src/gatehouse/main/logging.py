"""Structured logs: one JSON object per line on standard error.

Standard output belongs to the command: ``create-admin``'s password, ``keys list``'s table,
``serve``'s banner. At the default level (``info``) only Gatehouse's own loggers speak at
``info``; third-party libraries (pgserver, Alembic, uvicorn, ...) are heard from ``warning`` up,
and ``debug`` lets everything through.

Two paths, one format. Library and application messages use the standard ``logging`` module
and are rendered by structlog's ``ProcessorFormatter``. The per-request access line is hot, so
it uses structlog's native logger, filtered by level when it is built: no ``LogRecord``, no
caller lookup, one JSON render.
"""

from __future__ import annotations

import logging
import sys

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
