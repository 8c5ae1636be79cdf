"""Signing in: the password (login, and the token endpoint's password grant); the MFA step
that may follow is ``mfa_sign_in``, a social sign-in's first factor ``social``.

``SessionStarter`` is the one place a session begins: whatever proved who the user is (a
password, a provider's ID token, either with a code), it opens the session, its first refresh
token, the sign-in's audit event and, on a new device, a notice, in the caller's transaction.
``ChallengeOpener`` starts the MFA step instead when the account has a factor;
``SignInCompletion`` picks between the two after any first factor.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatehouse.modules.accounts.application.public import (
    AccountDirectory,
    AccountSnapshot,
    EmailNotVerified,
    InvalidCredentials,
    normalise_email,
)
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.lockout import guarded
from gatehouse.modules.auth.application.ports import (
    AccessTokenIssuer,
    AuthUnitOfWork,
    Lockout,
    RefreshTokenFactory,
    SignInAttempt,
)
from gatehouse.modules.auth.application.second_factors import (
    challenge_hash,
)
from gatehouse.modules.auth.domain.mfa import MfaChallenge, MfaMethod, UserMfa
from gatehouse.modules.auth.domain.model import (
    FIRST_PARTY_CLIENT_ID,
    AccessClaims,
    RefreshToken,
    Session,
)
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id

MAX_USER_AGENT = 512
MAX_MFA_TOKEN_LENGTH = 256
CHALLENGE_TTL = timedelta(minutes=5)  # the mfa_token's life


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    access_ttl: timedelta
    idle_ttl: timedelta
    absolute_ttl: timedelta
    reuse_grace: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str
    csrf_token: str  # for cookie mode: the value the client echoes in X-CSRF-Token


class TokenPairIssuer:
    """Signs the access token for a session and packs the pair (sign-in and refresh share it)."""

    def __init__(
        self, issuer: AccessTokenIssuer, tokens: RefreshTokenFactory, policy: SessionPolicy
    ) -> None:
        self._issuer = issuer
        self._tokens = tokens
        self._policy = policy

    def __call__(
        self, account: AccountSnapshot, session: Session, refresh_token: str, now: datetime
    ) -> TokenPair:
        access = self._issuer.issue(
            AccessClaims(
                subject=account.user_id,
                session_id=session.id,
                token_id=str(new_id()),
                roles=account.roles,
                amr=session.amr,
                issued_at=now,
                expires_at=now + self._policy.access_ttl,
                client_id=FIRST_PARTY_CLIENT_ID,
            )
        )
        return TokenPair(
            access_token=access,
            expires_in=int(self._policy.access_ttl.total_seconds()),
            refresh_token=refresh_token,
            refresh_expires_in=max(0, int((session.idle_expires_at - now).total_seconds())),
            session_id=str(session.id),
            csrf_token=self._tokens.csrf_for(session.id),
        )


@dataclass(frozen=True, slots=True)
class SessionStart:
    """How a new session came to be: its `amr`, and who asked, for the audit event."""

    amr: tuple[str, ...]
    method: str  # for the audit event: "password", "password+totp", ...
    user_agent: str | None
    ip: str | None
    locale: str


def _new_device_notice(account: AccountSnapshot, session: Session, locale: str) -> OutgoingMail:
    """ "A new sign-in": the first from this user agent, for an account that signed in before."""
    return OutgoingMail(
        account.email,
        "new_sign_in",
        {
            "when": session.created_at.strftime("%Y-%m-%d %H:%M"),
            "device": session.user_agent or "",
            "ip": session.ip or "",
        },
        locale,
    )


FEDERATED_AMR = "fed"  # a provider's ID token proved the first factor (social login)


def first_factor(amr: tuple[str, ...]) -> str:
    """The audit event's name of how a sign-in began: "password" or "social"."""
    return "social" if FEDERATED_AMR in amr else "password"


class SessionStarter:
    def __init__(self, tokens: RefreshTokenFactory, policy: SessionPolicy) -> None:
        self._tokens = tokens
        self._policy = policy

    async def start(
        self,
        uow: AuthUnitOfWork,
        account: AccountSnapshot,
        start: SessionStart,
        now: datetime,
    ) -> tuple[Session, str]:
        """A new session and its first refresh token, the sign-in's audit event and, on a new
        device, a notice, in the caller's transaction (which commits them)."""
        refresh_token = self._tokens.new()
        absolute = now + self._policy.absolute_ttl
        session = Session(
            id=new_id(),
            user_id=account.user_id,
            created_at=now,
            last_used_at=now,
            idle_expires_at=min(now + self._policy.idle_ttl, absolute),
            absolute_expires_at=absolute,
            user_agent=(start.user_agent or None) and start.user_agent[:MAX_USER_AGENT],
            ip=start.ip,
            amr=start.amr,
        )
        history = await uow.sessions.device_history(account.user_id, session.user_agent)
        await uow.sessions.add(session)
        await uow.refresh_tokens.add(
            RefreshToken(
                token_hash=self._tokens.hash(refresh_token),
                session_id=session.id,
                generation=0,
                created_at=now,
            )
        )
        uow.record(
            SecurityEvent(
                type="auth.signed_in",
                user_id=account.user_id,
                session_id=session.id,
                ip=start.ip,
                user_agent=session.user_agent,
                details={"method": start.method},
            )
        )
        if history.signed_in_before and not history.this_device_before:
            locale = account.locale or start.locale
            uow.record(_new_device_notice(account, session, locale))
        return session, refresh_token


@dataclass(frozen=True, slots=True)
class MfaRequired:
    """The answer to a first factor when a second is needed: the ``mfa_token`` to answer with."""

    mfa_token: str
    methods: tuple[MfaMethod, ...]
    expires_in: int


class ChallengeOpener:
    async def open(
        self, uow: AuthUnitOfWork, mfa: UserMfa, amr: tuple[str, ...], now: datetime
    ) -> MfaRequired:
        """Start the second half of a sign-in whose first factor (``amr``) passed."""
        token = secrets.token_urlsafe(32)
        methods = mfa.methods(await uow.mfa.backup_codes_remaining(mfa.user_id))
        await uow.challenges.add(
            MfaChallenge(
                id=new_id(),
                token_hash=challenge_hash(token),
                user_id=mfa.user_id,
                amr=amr,
                created_at=now,
                expires_at=now + CHALLENGE_TTL,
            )
        )
        return MfaRequired(token, methods, int(CHALLENGE_TTL.total_seconds()))


class SignInCompletion:
    """After the first factor (a password, a provider's ID token): the MFA step when the
    account has a second factor, else the session and its token pair, in the caller's
    transaction, which this commits."""

    def __init__(
        self, *, starter: SessionStarter, challenges: ChallengeOpener, pairs: TokenPairIssuer
    ) -> None:
        self._starter = starter
        self._challenges = challenges
        self._pairs = pairs

    async def __call__(
        self, uow: AuthUnitOfWork, account: AccountSnapshot, start: SessionStart, now: datetime
    ) -> TokenPair | MfaRequired:
        mfa = await uow.mfa.get(account.user_id)
        if mfa is not None and mfa.has_factor():
            required = await self._challenges.open(uow, mfa, start.amr, now)
            await uow.commit()
            return required
        session, refresh_token = await self._starter.start(uow, account, start, now)
        await uow.commit()
        return self._pairs(account, session, refresh_token, now)


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    user_agent: str | None = None
    ip: str | None = None
    locale: str = "en"  # of a new-device notice


class LoginHandler:
    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        uow: Callable[[], AuthUnitOfWork],
        completion: SignInCompletion,
        lockout: Lockout,
        clock: Clock,
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._completion = completion
        self._lockout = lockout
        self._clock = clock

    async def __call__(self, cmd: Login) -> TokenPair | MfaRequired:
        attempt = SignInAttempt(normalise_email(cmd.email), cmd.ip)
        async with guarded(
            self._lockout, attempt, wrong=(InvalidCredentials,), right=(EmailNotVerified,)
        ):
            account = await self._accounts.authenticate(cmd.email, cmd.password)
        now = self._clock.now()
        start = SessionStart(("pwd",), "password", cmd.user_agent, cmd.ip, cmd.locale)
        async with self._uow() as uow:
            return await self._completion(uow, account, start, now)
