"""Reading an RFC 9457 problem document the way a client of the contract does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

PROBLEM_KEYS = frozenset({"type", "title", "status", "detail", "instance", "code", "request_id"})
PROBLEM_BASE = "https://gatehouse.dev/problems/"


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert ``response`` is the problem ``code`` with ``status``; return its body.

    Checks what every Gatehouse problem carries: the media type, the members, a ``type`` named
    after the code, and the ``request_id`` of the ``X-Request-ID`` header.
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json", response.text
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"{PROBLEM_BASE}{code}"
    assert body["request_id"] == response.headers["x-request-id"]
    return body
