"""Sign in with email and password: start a session and return a token pair, or, when the
account has a second factor, return an MFA challenge (``mfa_sign_in`` finishes it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gatehouse.modules.accounts.application.public import AccountDirectory, AccountSnapshot
from gatehouse.modules.audit.application.public import SecurityEvent
from gatehouse.modules.auth.application.mfa import MfaRequired, open_challenge
from gatehouse.modules.auth.application.ports import (
    AccessTokenIssuer,
    AuthUnitOfWork,
    RefreshTokenFactory,
)
from gatehouse.modules.auth.domain.model import AccessClaims, RefreshToken, Session
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.clock import Clock
from gatehouse.shared.ids import new_id

MAX_USER_AGENT = 512


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    access_ttl: timedelta
    idle_ttl: timedelta
    absolute_ttl: timedelta
    reuse_grace: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class Login:
    email: str
    password: str
    user_agent: str | None = None
    ip: str | None = None
    locale: str = "en"  # of a new-device notice


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str
    csrf_token: str  # for cookie mode: the value the client echoes in X-CSRF-Token


class TokenPairIssuer:
    """Signs the access token for a session and packs the pair (login and refresh share it)."""

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


@dataclass(frozen=True, slots=True)
class SessionStart:
    """How a new session came to be: its `amr`, and who asked, for the audit event."""

    amr: tuple[str, ...]
    method: str  # for the audit event: "password", "password+totp", ...
    user_agent: str | None
    ip: str | None
    locale: str


class SessionTokenHandler:
    """What login and refresh both need: accounts, sessions, tokens, time and the policy."""

    def __init__(
        self,
        *,
        accounts: AccountDirectory,
        uow: Callable[[], AuthUnitOfWork],
        tokens: RefreshTokenFactory,
        pairs: TokenPairIssuer,
        clock: Clock,
        policy: SessionPolicy,
    ) -> None:
        self._accounts = accounts
        self._uow = uow
        self._tokens = tokens
        self._pairs = pairs
        self._clock = clock
        self._policy = policy

    async def _start_session(
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
        await uow.audit.record(
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
            await uow.outbox.enqueue(_new_device_notice(account, session, locale))
        return session, refresh_token


class LoginHandler(SessionTokenHandler):
    async def __call__(self, cmd: Login) -> TokenPair | MfaRequired:
        account = await self._accounts.authenticate(cmd.email, cmd.password)
        now = self._clock.now()
        async with self._uow() as uow:
            mfa = await uow.mfa.get(account.user_id)
            if mfa is not None and mfa.has_factor():
                required = await open_challenge(uow, mfa, ("pwd",), now)
                await uow.commit()
                return required
            start = SessionStart(("pwd",), "password", cmd.user_agent, cmd.ip, cmd.locale)
            session, refresh_token = await self._start_session(uow, account, start, now)
            await uow.commit()
        return self._pairs(account, session, refresh_token, now)
