"""Ports of the auth module."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gatehouse.modules.accounts.application.public import ExternalIdentity
from gatehouse.modules.auth.domain.mfa import MfaChallenge, UserMfa
from gatehouse.modules.auth.domain.model import AccessClaims, RefreshToken, Session
from gatehouse.shared.uow import UnitOfWork


class SessionRepository(Protocol):
    async def add(self, session: Session) -> None: ...

    async def get(self, session_id: uuid.UUID, *, for_update: bool = False) -> Session | None:
        """``for_update`` locks the session row: refreshes of one session run one at a time."""
        ...

    async def list_active(
        self, user_id: uuid.UUID, now: datetime, *, limit: int, before: uuid.UUID | None
    ) -> list[Session]:
        """Active sessions, newest first, ``limit`` of them, older than ``before`` if given."""
        ...

    async def device_history(self, user_id: uuid.UUID, user_agent: str | None) -> DeviceHistory:
        """Whether the user signed in before, and from this user agent."""
        ...

    async def summary(self, user_id: uuid.UUID, now: datetime) -> SessionSummary:
        """How many sessions of the user are active at ``now``, and when the latest began."""
        ...

    async def revoke_all(
        self, user_id: uuid.UUID, now: datetime, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """End every active session of the user (but ``keep``); return their ids."""
        ...


@dataclass(frozen=True, slots=True)
class SessionSummary:
    active: int
    last_sign_in: datetime | None  # the newest session's start, ended or not


@dataclass(frozen=True, slots=True)
class DeviceHistory:
    signed_in_before: bool  # any session of the user, ended or not
    this_device_before: bool  # one with exactly this user agent


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def get(self, token_hash: bytes) -> RefreshToken | None:
        """The token as committed now (not a copy read earlier in the transaction)."""
        ...


class MfaRepository(Protocol):
    async def get(self, user_id: uuid.UUID, *, for_update: bool = False) -> UserMfa | None: ...

    async def get_or_add(self, user_id: uuid.UUID) -> UserMfa:
        """The user's row, created if missing (concurrent callers get the same one), locked."""
        ...

    async def backup_codes_remaining(self, user_id: uuid.UUID) -> int: ...

    async def replace_backup_codes(
        self, user_id: uuid.UUID, code_hashes: list[bytes], now: datetime
    ) -> None:
        """The new set; every code of the old set stops working."""
        ...

    async def use_backup_code(
        self, user_id: uuid.UUID, candidates: list[bytes], now: datetime
    ) -> bool:
        """Spend the unused code whose hash is among ``candidates``; ``False`` if none is."""
        ...

    async def delete_backup_codes(self, user_id: uuid.UUID) -> None: ...


class MfaChallengeRepository(Protocol):
    async def add(self, challenge: MfaChallenge) -> None: ...

    async def get(self, token_hash: bytes) -> MfaChallenge | None:
        """The challenge, locked: two answers to one challenge are decided one at a time."""
        ...


class AuthUnitOfWork(UnitOfWork, Protocol):
    """Auth's repositories; mails, security events, the account's MFA summary and ended
    sessions' denylisting are recorded (``record``) and handled when it commits."""

    sessions: SessionRepository
    refresh_tokens: RefreshTokenRepository
    mfa: MfaRepository
    challenges: MfaChallengeRepository


class SessionTerminator(Protocol):
    """Ends a user's sessions in the transaction of the event that calls for it."""

    async def end_all(
        self, user_id: uuid.UUID, reason: str, *, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """End every active session of the user but ``keep``, and every sign-in halfway
        through (open ``mfa_token``s, an emailed code); return the ended sessions' ids."""
        ...

    async def remove_factors(self, user_id: uuid.UUID) -> None:
        """Delete every MFA factor, backup code and challenge of the user."""
        ...

    async def forget(self, user_id: uuid.UUID) -> None:
        """Erase what the user's sessions recorded about them (IP, user agent) and every MFA
        factor, backup code and challenge. Session rows stay, ended, until they expire: the
        revocation check still finds them."""
        ...


class RefreshTokenFactory(Protocol):
    """Opaque refresh tokens: random for a new session, a keyed derivation for each child."""

    def new(self) -> str: ...

    def child_of(self, parent: str) -> str:
        """The same parent always yields the same child; nobody without the key can compute it."""
        ...

    def hash(self, token: str) -> bytes: ...

    def csrf_for(self, session_id: uuid.UUID) -> str:
        """The cookie-mode CSRF token of a session: derived, so a token fits one session only."""
        ...


class SessionRevocations(Protocol):
    """Answers, on every authenticated request, whether an access token's session has ended.

    PostgreSQL is the truth; an implementation may keep a faster copy but must never answer
    "not revoked" for a session PostgreSQL has revoked.
    """

    async def is_revoked(self, session_id: uuid.UUID) -> bool: ...

    async def revoked(self, session_ids: list[uuid.UUID]) -> None:
        """Tell the fast copy, after the revocation committed in PostgreSQL."""
        ...

    async def sync(self, interval_seconds: float) -> int:
        """Copy recent revocations to the fast copy again (run every ``interval_seconds``), so
        one whose ``revoked`` call failed is not missed for long; return how many were copied."""
        ...


class AccessTokenIssuer(Protocol):
    def issue(self, claims: AccessClaims) -> str:
        """Sign the claims with the active key."""
        ...


class AccessTokenVerifier(Protocol):
    def verify(self, token: str) -> AccessClaims:
        """Check signature and claims or raise ``InvalidAccessToken``."""
        ...


class PublicKeySet(Protocol):
    def jwks(self) -> Mapping[str, Any]:
        """The public keys as a JWK Set (RFC 7517)."""
        ...

    def cache_seconds(self) -> int:
        """How long a copy of the JWK Set may be used: less than a new key's wait to sign."""
        ...


class SecretUnreadable(Exception):
    """A sealed secret that no configured key opens (a dropped key version, a corrupt value)."""


class SecretBox(Protocol):
    """Encryption at rest for secrets Gatehouse must read back (TOTP seeds)."""

    def seal(self, plaintext: bytes) -> str: ...

    def open(self, sealed: str) -> bytes:
        """Raises ``SecretUnreadable``."""
        ...

    def is_current(self, sealed: str) -> bool:
        """Sealed with the newest key version (else re-seal it when convenient)."""
        ...


class TotpCodes(Protocol):
    def new_secret(self) -> str: ...

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str: ...

    def accept(self, secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
        """The time step of a valid ``code`` newer than ``last_step``, else ``None``."""
        ...


class CodeHasher(Protocol):
    """Keyed hashes of short codes (backup codes, emailed codes) bound to their user, so a
    copy of the database alone does not let anyone search the small code space offline."""

    def digest(self, user_id: uuid.UUID, code: str) -> bytes:
        """Under the newest key version: what to store."""
        ...

    def candidates(self, user_id: uuid.UUID, code: str) -> list[bytes]:
        """Under every key version, newest first: what a stored hash may be."""
        ...


class QrCodes(Protocol):
    def svg(self, data: str) -> str:
        """``data`` as a QR code, an inline SVG document."""
        ...


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """Who tries a password or a code: the account (its normalised email, or the address as
    typed, normalised, when there is no such account) and the client IP."""

    account: str
    ip: str | None


class Lockout(Protocol):
    """Progressive lockout per account and per client IP (``domain.lockout``), plus at most
    ``N`` failures an hour per account, in a store every process shares."""

    async def admit(self, attempt: SignInAttempt) -> None:
        """Let the attempt be checked, or raise ``TooManyAttempts`` (with ``retry_after``)
        while its account or IP is locked or busy; a refused attempt counts nothing. Every
        admitted attempt ends with exactly one of the three calls below."""
        ...

    async def failed(self, attempt: SignInAttempt) -> None:
        """The password or code was wrong: a failure for the account and the IP (and one of
        the account's hourly budget)."""
        ...

    async def succeeded(self, attempt: SignInAttempt) -> None:
        """The password or code was right: the account's and the IP's streaks start over."""
        ...

    async def released(self, attempt: SignInAttempt) -> None:
        """The attempt ended without an answer on the secret (an outage): it counts nothing."""
        ...


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What ``/authorize`` sends the provider; the verifier behind ``code_challenge`` and the
    ``nonce`` stay with us (RFC 7636 S256; OpenID Connect Core 3.1.2.1)."""

    state: str
    nonce: str
    code_challenge: str  # BASE64URL(SHA256(code_verifier)), method S256
    redirect_uri: str  # our callback, registered at the provider


class IdentityProvider(Protocol):
    """One OpenID Connect provider, configured by name (``GATEHOUSE_OIDC_PROVIDERS``)."""

    @property
    def name(self) -> str: ...

    @property
    def issuer(self) -> str:
        """The configured issuer, exactly (what its ID tokens' ``iss`` must be)."""
        ...

    async def authorization_url(self, request: AuthorizationRequest) -> str:
        """The provider's authorization endpoint (from its discovery document) with
        ``response_type=code``, our ``client_id``, the scopes, ``state``, ``nonce``,
        ``code_challenge`` and ``code_challenge_method=S256``, ``redirect_uri``.
        Raises ``ProviderUnavailable`` when the discovery document cannot be had."""
        ...

    async def identify(
        self, *, code: str, code_verifier: str, redirect_uri: str, nonce: str
    ) -> ExternalIdentity:
        """Exchange the code (with the PKCE verifier), verify the ID token (signature from the
        issuer's JWKS, ``iss``, ``aud`` = our client id, ``exp``, ``nonce``) and return who
        signed in (claims the ID token lacks from the userinfo endpoint, same ``sub``).
        Raises ``ProviderUnavailable`` (no answer in time, a 5xx) or ``ProviderRejected``
        (an error answer, a token failing any check). Never blocks the event loop."""
        ...


class IdentityProviders(Protocol):
    def get(self, name: str) -> IdentityProvider | None:
        """The provider configured under ``name``, or ``None``."""
        ...


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What ``/authorize`` keeps for ``/callback`` (server-side, never in the browser): the
    provider, our ``nonce`` and PKCE verifier, where to send the browser back, which browser
    started it (a hash of its binding cookie) and, when linking from settings, whose account."""

    provider: str
    nonce: str
    code_verifier: str
    redirect_to: str
    browser: str  # SHA-256 (hex) of the binding cookie's value
    link_user_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class LoginGrant:
    """What a one-time login code stands for: a social sign-in of this user, finished by
    ``POST /oauth/exchange``."""

    user_id: uuid.UUID
    provider: str


class SocialSignInStore(Protocol):
    """Short-lived, take-once records of social sign-ins, shared by every process. Keys are
    stored hashed; taking a record deletes it, so two callers never both get it."""

    async def put_pending(self, state: str, pending: PendingSignIn, ttl_seconds: int) -> None:
        """Raises ``Unavailable`` when the store cannot be reached."""
        ...

    async def take_pending(self, state: str) -> PendingSignIn | None:
        """The record once; ``None`` when unknown, expired or already taken."""
        ...

    async def put_grant(self, code: str, grant: LoginGrant, ttl_seconds: int) -> None: ...

    async def take_grant(self, code: str) -> LoginGrant | None: ...
