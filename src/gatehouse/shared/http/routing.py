"""A route class that insists on JSON bodies (415 otherwise) and documents problems."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from gatehouse.shared.errors import GatehouseError


class UnsupportedMediaType(GatehouseError):
    code = "unsupported_media_type"
    title = "The request body must be JSON (Content-Type: application/json)"


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class JsonRoute(APIRoute):
    """Routes with a JSON body refuse any other content type with 415 before parsing.

    A route whose body is optional also takes a request with no body at all.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            headers = request.headers
            has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
            required = self.body_field is not None and self.body_field.field_info.is_required()
            if (has_body or required) and not is_json(headers.get("content-type", "")):
                raise UnsupportedMediaType
            return await handler(request)

        return json_only


PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries for the problem documents a route may answer with."""
    return {
        status: {"description": "Problem (RFC 9457)", "model": None, **PROBLEM}
        for status in statuses
    }
