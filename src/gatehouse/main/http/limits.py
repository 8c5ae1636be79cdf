"""The contract's limits on a request's head: a URL over 8 KiB is 414, a header section over
32 KiB is 431, each a problem document.

``gatehouse serve`` enforces them while the bytes arrive (``gatehouse.main.http.protocol``), so
no more than that is ever held; the request-context middleware answers, and checks requests
that come another way (an in-process ASGI client) itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_URL_BYTES = 8 * 1024
MAX_HEADER_BYTES = 32 * 1024
# The status a server already decided on, in ``scope["extensions"]``: the request was refused
# while it arrived, its head was never read whole, and the app only renders the answer.
REFUSAL = "gatehouse.refused"

DETAILS = {
    400: "The request is not valid HTTP/1.1.",
    414: f"The URL is longer than {MAX_URL_BYTES // 1024} KiB.",
    431: f"The request's header section is larger than {MAX_HEADER_BYTES // 1024} KiB.",
}


def refusal(scope: Mapping[str, Any]) -> int | None:
    """400, 414 or 431 when the server refused the request as it arrived, or when its URL or
    header section is over the limits; else ``None``."""
    extensions = scope.get("extensions")
    if extensions and REFUSAL in extensions:
        status: int = extensions[REFUSAL]
        return status
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    url = len(raw) if b"?" in raw or not query else len(raw) + 1 + len(query)
    if url > MAX_URL_BYTES:
        return 414
    # as on the wire: "name: value\r\n"
    if sum(len(name) + len(value) + 4 for name, value in scope["headers"]) > MAX_HEADER_BYTES:
        return 431
    return None
