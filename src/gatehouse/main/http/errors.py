"""One place renders every error as an RFC 9457 problem document."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gatehouse.shared.db_outage import DatabaseUnavailable, is_database_outage
from gatehouse.shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatehouseError,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)
from gatehouse.shared.http.routing import UnsupportedMediaType

PROBLEM_BASE = "https://gatehouse.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("gatehouse.http")

_STATUS_BY_CATEGORY: tuple[tuple[type[GatehouseError], int], ...] = (
    (UnsupportedMediaType, 415),
    (BadRequest, 400),
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (TooManyRequests, 429),
    (Unavailable, 503),
)

# Codes and titles for errors raised by the framework itself, by status.
_FRAMEWORK: dict[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    413: ("payload_too_large", "The request body is too large"),
    414: ("url_too_long", "The URL is too long"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("validation_failed", "The request is not valid"),
    429: ("too_many_requests", "Too many requests"),
    431: ("headers_too_large", "The request header fields are too large"),
    500: ("internal_error", "Internal server error"),
    503: ("service_unavailable", "Service unavailable"),
}


def status_for(error: GatehouseError) -> int:
    for category, status in _STATUS_BY_CATEGORY:
        if isinstance(error, category):
            return status
    return 400


def problem_response(
    request_or_scope: Request | MutableMapping[str, Any],
    status: int,
    code: str,
    title: str,
    *,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    scope = request_or_scope.scope if isinstance(request_or_scope, Request) else request_or_scope
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": scope.get("path", "/"),
        "code": code,
        "request_id": scope.get("state", {}).get("request_id"),
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def framework_problem(
    scope: MutableMapping[str, Any], status: int, detail: str | None = None
) -> JSONResponse:
    code, title = _FRAMEWORK.get(status, ("http_error", "HTTP error"))
    return problem_response(scope, status, code, title, detail=detail)


async def _gatehouse_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatehouseError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        sent_token = request.headers.get("authorization", "").lower().startswith("bearer ")
        headers["WWW-Authenticate"] = (
            'Bearer error="invalid_token"'
            if sent_token and exc.code == "invalid_token"
            else "Bearer"
        )
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = "5"
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidInput) and exc.field is not None:
        # The contract's validation shape, naming the body field, beside the stable code.
        extra["errors"] = [{"loc": ["body", exc.field], "msg": exc.detail, "type": exc.code}]
    return problem_response(
        request, status, exc.code, exc.title, detail=exc.detail, headers=headers, **extra
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": list(error.get("loc", ())),
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    return problem_response(
        request,
        422,
        "validation_failed",
        "The request is not valid",
        detail="One or more fields are missing or invalid.",
        errors=errors,
    )


def _allowed_methods(request: Request) -> str:
    """The methods the OpenAPI document lists for this path (Starlette names only the first
    matching route's): those of every route of the most specific template that matches (so
    ``/admin/users/import`` is not also ``/admin/users/{user_id}``); HEAD, which Starlette adds
    to GET, left out."""
    by_template: dict[int, set[str]] = {}
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            parameters = len(getattr(route, "param_convertors", {}))
            by_template.setdefault(parameters, set()).update(getattr(route, "methods", ()) or ())
    methods = by_template[min(by_template)] if by_template else set()
    return ", ".join(sorted(methods - {"HEAD"}))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    response = framework_problem(request.scope, exc.status_code)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = _allowed_methods(request)
    return response


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_database_outage(exc):
        # Adapters translate these; one that slipped past them is still an outage, not a bug.
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        return await _gatehouse_error(request, DatabaseUnavailable())
    log.error("unhandled error", exc_info=exc)
    return framework_problem(request.scope, 500, "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatehouseError, _gatehouse_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
