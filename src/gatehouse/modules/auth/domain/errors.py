"""Auth errors."""

from __future__ import annotations

from gatehouse.shared.errors import Forbidden, NotFound, Unauthenticated


class InvalidAccessToken(Unauthenticated):
    """A bearer token was sent but is malformed, forged, expired or revoked."""

    code = "invalid_token"
    title = "The access token is invalid or has expired"


class RefreshTokenInvalid(Unauthenticated):
    """Unknown, expired or revoked: the client must sign in again."""

    code = "refresh_token_invalid"
    title = "The refresh token is invalid or has expired"


class RefreshTokenReused(Unauthenticated):
    """An already-rotated token came back after the grace interval: the session is ended."""

    code = "refresh_token_reused"
    title = "The refresh token was already used; the session has been ended"


class SessionNotFound(NotFound):
    code = "session_not_found"
    title = "No such session"


class CsrfFailed(Forbidden):
    """A cookie-authenticated request without the session's CSRF token or from a foreign origin."""

    code = "csrf_failed"
    title = "The request failed the CSRF check"
