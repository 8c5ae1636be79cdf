"""Accounts errors: each a category from the kernel with a stable code."""

from __future__ import annotations

from gatehouse.shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated


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


class UserNotFound(NotFound):
    code = "user_not_found"
    title = "User not found"


class TokenInvalid(InvalidInput):
    """Invalid, expired and already-used one-time tokens are indistinguishable to the caller."""

    code = "token_invalid"
    title = "The token is invalid or has expired"


class InvalidCredentials(Unauthenticated):
    code = "invalid_credentials"
    title = "Invalid email or password"


class EmailNotVerified(Forbidden):
    code = "email_not_verified"
    title = "The email address is not verified yet"
