"""Cookie mode for browsers: the refresh token in an HttpOnly cookie, a readable CSRF cookie.

A cookie travels with every request the browser makes, so a request authenticated by the
refresh cookie must prove it comes from our own page: it echoes the CSRF cookie's value in
``X-CSRF-Token`` (a foreign page cannot read that cookie), the value must be the one derived
for that very session, and an ``Origin`` header, when sent, must be an allowed origin.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request, Response

from gatehouse.modules.auth.application.signing_in import TokenPair
from gatehouse.modules.auth.domain.errors import CsrfFailed

REFRESH_COOKIE = "gatehouse_refresh"
CSRF_COOKIE = "gatehouse_csrf"
CSRF_HEADER = "x-csrf-token"
REFRESH_PATH = "/api/v1/auth"


def set_session_cookies(response: Response, pair: TokenPair) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=pair.refresh_expires_in,
        path=REFRESH_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        pair.csrf_token,
        max_age=pair.refresh_expires_in,
        path="/",
        secure=True,
        httponly=False,  # the page reads it and echoes it in X-CSRF-Token
        samesite="strict",
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_PATH, secure=True, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=True, samesite="strict")


def check_origin(request: Request, allowed: Collection[str]) -> None:
    """Refuse a browser request from a page of another origin (login CSRF included)."""
    origin = request.headers.get("origin")
    if origin is not None and origin not in allowed:
        raise CsrfFailed("the request comes from an origin that is not allowed")


def csrf_from(request: Request) -> str:
    """The double-submitted CSRF token: header and cookie must both be there and agree."""
    header = request.headers.get(CSRF_HEADER)
    cookie = request.cookies.get(CSRF_COOKIE)
    if not header or not cookie or header != cookie:
        raise CsrfFailed("send the gatehouse_csrf cookie's value in X-CSRF-Token")
    return header
