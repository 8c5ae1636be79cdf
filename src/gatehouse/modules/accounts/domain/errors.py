"""Accounts errors: each a category from the kernel with a stable code."""

from __future__ import annotations

from gatehouse.shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)


class InvalidEmail(InvalidInput):
    code = "invalid_email"
    title = "The email address is not valid"


class InvalidDisplayName(InvalidInput):
    code = "invalid_display_name"
    title = "The display name is not valid"


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = "The password does not meet the policy"


class EmailAlreadyRegistered(Conflict):
    code = "email_taken"
    title = "The email address is already registered"


class AccountGone(Unauthenticated):
    """A valid access token whose account was disabled or deleted: the token is no longer good."""

    code = "invalid_token"
    title = "The access token is invalid or has expired"


class TokenInvalid(BadRequest):
    """Invalid, expired and already-used one-time tokens are indistinguishable to the caller."""

    code = "token_invalid"
    title = "The token is invalid or has expired"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Invalid email or password"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    title = "The email address is not verified yet"


class UnsupportedLocale(InvalidInput):
    code = "unsupported_locale"
    title = "Mails are not available in that language"


class EmailUnchanged(InvalidInput):
    code = "email_unchanged"
    title = "That is already the account's address"


class ReauthFailed(Forbidden):
    """A wrong password (or code) in a re-authentication body, sent with a valid token."""

    code = "reauth_failed"
    title = "The password or code is not correct"


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "No such user"


class UnknownRole(InvalidInput):
    code = "unknown_role"
    title = "No such role"


class OwnAccessUnchangeable(Conflict):
    """An administrator cannot disable their own account or change their own roles (another
    administrator can), so the last one cannot lock everyone out."""

    code = "own_access_unchangeable"
    title = "You cannot disable yourself or change your own roles"
