"""Auth errors."""

from __future__ import annotations

from gatehouse.shared.errors import InvalidInput, Unauthenticated


class InvalidAccessToken(Unauthenticated):
    """A bearer token was sent but is malformed, forged, expired or revoked."""

    code = "invalid_token"
    title = "The access token is invalid or has expired"


class MissingAccessToken(Unauthenticated):
    code = "unauthenticated"
    title = "Authentication required"


class CookieModeUnavailable(InvalidInput):
    code = "cookie_mode_unavailable"
    title = "Cookie mode is not available yet"
