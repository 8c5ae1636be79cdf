"""A route class that insists on JSON bodies (415 otherwise), answers a body it cannot read
after authenticating the caller, and documents problems."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from gatehouse.shared.errors import BadRequest, GatehouseError
from gatehouse.shared.http.security import bearer_scheme, current_principal


class UnsupportedMediaType(GatehouseError):
    code = "unsupported_media_type"
    title = "The request body must be JSON (Content-Type: application/json)"


class MalformedBody(BadRequest):
    """JSON that no parser should take: not UTF-8, nested too deeply, a number too long."""

    code = "malformed_body"
    title = "The request body cannot be read as JSON"


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _authenticates(dependant: Dependant) -> bool:
    """Whether the route (through any of its dependencies) needs a bearer token."""
    return any(
        dependency.call is bearer_scheme or _authenticates(dependency)
        for dependency in dependant.dependencies
    )


async def _body_problem(request: Request, *, required: bool) -> Exception | None:
    """What is wrong with the body before FastAPI sees it: 415 for another content type, 422
    ``json_invalid`` for JSON that does not parse, 400 ``malformed_body`` for bytes no JSON
    parser should take. The parsed body stays on the request: FastAPI reads it from there."""
    headers = request.headers
    has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
    if (has_body or required) and not is_json(headers.get("content-type", "")):
        return UnsupportedMediaType()
    if not has_body or not await request.body():
        return None
    return await _parse_problem(request)


async def _parse_problem(request: Request) -> Exception | None:
    try:
        await request.json()
    except json.JSONDecodeError as error:  # FastAPI's own answer, as it would give it
        invalid = {"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error"}
        return RequestValidationError([invalid], body=error.doc)
    except UnicodeDecodeError:
        return MalformedBody("The body is not UTF-8.")
    except RecursionError:
        return MalformedBody("The JSON is nested too deeply.")
    except ValueError:  # the parser's limit on the digits of an integer
        return MalformedBody("The JSON holds a number with too many digits.")
    return None


class JsonRoute(APIRoute):
    """Routes with a JSON body refuse any other content type with 415 before parsing, and a body
    that does not parse with 422 ``json_invalid`` or 400 ``malformed_body``; on a route that
    authenticates, only after the caller is authenticated (no token is 401 whatever the body).

    A route whose body is optional also takes a request with no body at all. Its OpenAPI
    responses list those problems (and 401 when it authenticates) whatever the route declares.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.body_field is not None:
            statuses = (
                (400, 401, 413, 415, 422)
                if _authenticates(self.dependant)
                else (400, 413, 415, 422)
            )
            for status, response in problems(*statuses).items():
                self.responses.setdefault(status, response)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler
        required = self.body_field.field_info.is_required()
        authenticates = _authenticates(self.dependant)

        async def json_only(request: Request) -> Response:
            problem = await _body_problem(request, required=required)
            if problem is not None:
                if authenticates:
                    await current_principal(await bearer_scheme(request))
                raise problem
            return await handler(request)

        return json_only


PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the problem documents a route may answer with."""
    return {
        status: {"description": "Problem (RFC 9457)", "model": None, **PROBLEM}
        for status in statuses
    }
