"""CORS for the listed origins, with a refused preflight answered as a problem document.

Starlette's middleware answers a preflight it refuses (an origin, method or header not allowed)
with a ``text/plain`` 400 ("Disallowed CORS origin"); every 4xx of Gatehouse is RFC 9457, so
that answer becomes a 400 ``cors_preflight_refused`` problem with the same reason and headers.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from gatehouse.main.http.errors import problem_response


class ProblemCorsMiddleware(CORSMiddleware):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            await super().__call__(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if "origin" not in headers or "access-control-request-method" not in headers:
            await super().__call__(scope, receive, send)
            return
        response = self.preflight_response(request_headers=headers)
        if response.status_code >= 400:
            reason = bytes(response.body).decode("utf-8", "replace")
            kept = {
                name: value
                for name, value in response.headers.items()
                if name not in {"content-type", "content-length"}
            }
            response = problem_response(
                scope,
                response.status_code,
                "cors_preflight_refused",
                "The cross-origin request is not allowed",
                detail=f"{reason}: allowed origins are set by GATEHOUSE_CORS_ORIGINS",
                headers=kept,
            )
        await response(scope, receive, send)
