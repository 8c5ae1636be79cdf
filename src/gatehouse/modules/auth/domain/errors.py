"""Auth errors."""

from __future__ import annotations

from gatehouse.shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthenticated,
    Unavailable,
)


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


class MfaTokenInvalid(Unauthenticated):
    """Unknown, expired, used, or voided by five wrong codes: sign in with the password again."""

    code = "mfa_token_invalid"
    title = "The MFA token is invalid or has expired"


class MfaCodeInvalid(Unauthenticated):
    code = "mfa_code_invalid"
    title = "The code is not correct"


class MfaMethodUnavailable(InvalidInput):
    """The user has no such factor (or no backup codes left)."""

    code = "mfa_method_unavailable"
    title = "That method is not available for this account"


class MfaNotEnabled(Conflict):
    code = "mfa_not_enabled"
    title = "Two-step verification is not turned on"


class TotpEnrolmentMissing(Conflict):
    """Confirming without a pending secret, or after it expired (15 minutes)."""

    code = "totp_enrolment_missing"
    title = "There is no authenticator setup to confirm; start again"


class TotpCodeInvalid(InvalidInput):
    code = "totp_code_invalid"
    title = "The code does not match the authenticator setup"


class MailCapReached(TooManyRequests):
    """The address's mail caps (1 a minute, 5 an hour, shared by every mail) are used up."""

    code = "too_many_mails"
    title = "Too many mails to this address; try again later"


class TooManyAttempts(TooManyRequests):
    """The account or the client is locked out after failed passwords or codes."""

    code = "too_many_attempts"
    title = "Too many failed attempts; try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            retry_after,
            "too many failed passwords or codes for this account or from this client; "
            f"retry in {max(1, retry_after)} s",
        )


class ProviderUnavailable(Unavailable):
    """The OpenID provider (its discovery document, JWKS or token endpoint) did not answer in
    time or answered with a server error."""

    code = "provider_unavailable"
    title = "The sign-in provider cannot be reached; try again later"


class ProviderRejected(BadRequest):
    """The provider refused the code, or its answer failed a check (the ID token's signature,
    ``iss``, ``aud``, ``exp``, ``nonce``, a missing ``sub``): nobody is signed in."""

    code = "provider_error"
    title = "The sign-in provider's answer was not accepted"


class ProviderNotFound(NotFound):
    """No sign-in provider is configured under that name."""

    code = "provider_not_found"
    title = "No such sign-in provider"


class RedirectNotAllowed(BadRequest):
    """``redirect_to`` is not, character for character, on ``GATEHOUSE_OAUTH_REDIRECT_URLS``."""

    code = "redirect_not_allowed"
    title = "That redirect address is not allowed"


class StateInvalid(BadRequest):
    """A callback whose ``state`` is unknown, spent or expired, or was started in another
    browser (its binding cookie is missing or different)."""

    code = "state_invalid"
    title = "The sign-in attempt is invalid or has expired; start again"


class LoginCodeInvalid(BadRequest):
    """A one-time login code that is unknown, spent or expired."""

    code = "token_invalid"
    title = "The token is invalid or has expired"
