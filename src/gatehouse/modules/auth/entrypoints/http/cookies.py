"""Cookie mode for browsers: the refresh token in an HttpOnly cookie, a readable CSRF cookie.

A cookie travels with every request the browser makes, so a request authenticated by the
refresh cookie must prove it comes from our own page: it echoes the CSRF value in
``X-CSRF-Token`` (a foreign page can read neither the cookie nor the JSON body that carried
it: the body as ``csrf_token``, for an app on a sibling host that cannot read our host-only
cookie), the header must equal the CSRF cookie the browser sends along, the value must be the
one derived for that very session, and an ``Origin`` header, when sent, must be an allowed origin.

``secure`` is ``GATEHOUSE_COOKIE_SECURE``: true except in development over plain http on a host
that is not localhost, where a browser refuses a ``Secure`` cookie (settings refuse false in
production).
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


def set_session_cookies(response: Response, pair: TokenPair, *, secure: bool) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        pair.refresh_token,
        max_age=pair.refresh_expires_in,
        path=REFRESH_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        pair.csrf_token,
        max_age=pair.refresh_expires_in,
        path="/",
        secure=secure,
        httponly=False,  # the page reads it and echoes it in X-CSRF-Token
        samesite="strict",
    )


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_PATH, secure=secure, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="strict")


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
