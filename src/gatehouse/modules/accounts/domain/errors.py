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


class AccountExists(Conflict):
    """Social login: an account already has the provider's address but cannot be linked to it
    by email (either side unverified), or the provider account signs in to another account,
    or the account already has an identity of that provider. The user signs in the usual way
    and links from settings."""

    code = "account_exists"
    title = "An account already exists for this sign-in"


class IdentityLinkConflict(AccountExists):
    """A unique constraint refused a link: that provider account was linked meanwhile (two
    first sign-ins at once), or the user got an identity of that provider meanwhile. Raised at
    the adapter edge; the use cases try once more on what committed."""


class IdentityEmailUnverified(Forbidden):
    """A provider identity that is linked to no account and whose email the provider does not
    vouch for (``email_verified`` false or no email): no account is created or linked."""

    code = "email_not_verified"
    title = "The provider has not verified this email address"


class SignInRefused(Forbidden):
    """Social login to a disabled account."""

    code = "access_denied"
    title = "Signing in to this account is not allowed"


class LastSignInMethod(Conflict):
    """Unlinking the only way left to sign in (no password, no other identity)."""

    code = "last_sign_in_method"
    title = "This is the only way left to sign in to the account"


class IdentityNotFound(NotFound):
    code = "identity_not_found"
    title = "No identity of that provider is linked to the account"
