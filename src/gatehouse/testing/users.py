"""Signed-in users, made through the real API: registered, verified, given roles, enrolled in
TOTP and signed in with a second factor, so their tokens are the ones a real client holds.

Only what the API cannot do for a test is done in the database: marking the address verified
(instead of a round trip through the mail) and granting roles (instead of an administrator).
The mails the making causes (the verification mail, the notices about two-step verification
and the used backup code) are neither left in the outbox nor in the mail sink: a test's mail
sink holds only the mails of what the test itself did.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyotp

if TYPE_CHECKING:  # importing this module (gatehouse.testing does) must stay cheap
    import httpx

    from gatehouse.main.settings import Settings
    from gatehouse.testing.mail import MailSink

PASSWORD = "correct horse battery staple"  # noqa: S105 - the test users' default
API = "/api/v1"
TOTP_STEP = timedelta(seconds=30)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """A user and the token pair of one session of theirs.

    With ``mfa=True`` the session was opened with the password and a backup code (``amr``
    holds ``mfa``); ``totp_secret`` is the enrolled secret and ``backup_codes`` the nine unused
    ones. The enrolment spent the TOTP code of its time step: ``next_totp_code()`` gives one
    that has not been spent.
    """

    id: str
    email: str
    password: str
    access_token: str
    refresh_token: str
    headers: dict[str, str]
    totp_secret: str | None = None
    backup_codes: tuple[str, ...] = ()

    def next_totp_code(self) -> str:
        """A TOTP code of the next time step (accepted now, and not yet spent)."""
        assert self.totp_secret is not None, "this user has no TOTP (make_user(mfa=True))"
        return pyotp.TOTP(self.totp_secret).at(datetime.now(UTC) + TOTP_STEP)


async def sql(database_url: str, query: str, *args: Any) -> Any:
    """Run one statement on the test database and return its first value."""
    import asyncpg  # noqa: PLC0415

    from gatehouse.shared.pg import asyncpg_dsn  # noqa: PLC0415

    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def _ok(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    return body


class UserFactory:
    """``await factory(roles=…, mfa=…, verified=…, email=…, password=…)`` → ``SignedInUser``.

    ``client`` is an app built with ``settings``; ``mail_sink`` is the sink those settings send
    mail to, if any (its copies of the making's mails are discarded).
    """

    def __init__(
        self, client: httpx.AsyncClient, settings: Settings, mail_sink: MailSink | None = None
    ) -> None:
        assert settings.database_url is not None
        self._client = client
        self._settings = settings
        self._database_url: str = settings.database_url
        self._sink = mail_sink

    async def __call__(
        self,
        *,
        roles: Sequence[str] = (),
        mfa: bool = False,
        verified: bool = True,
        email: str | None = None,
        password: str | None = None,
    ) -> SignedInUser:
        address = (email or unique_email()).lower()
        secret = password or PASSWORD
        if not verified and self._settings.require_verified_email:
            msg = (
                "an unverified user cannot sign in while require_verified_email is on: override "
                "gatehouse_settings with require_verified_email=False, or register it yourself"
            )
            raise ValueError(msg)
        user_id = await self.register(address, secret, verified=verified)
        if roles:
            await self.grant(user_id, roles)
        user = await self.sign_in(user_id, address, secret)
        if mfa:
            user = await self.enrol_totp(user)
        await self.forget_mail(address)
        return user

    async def register(self, email: str, password: str, *, verified: bool = True) -> str:
        """Register through the API; mark the address verified in the database. The user's id."""
        response = await self._client.post(
            f"{API}/auth/register", json={"email": email, "password": password}
        )
        _ok(response, 202, "register")
        query = "SELECT id FROM accounts_user WHERE email = $1"
        if verified:
            query = (
                "UPDATE accounts_user SET email_verified_at = now() WHERE email = $1 RETURNING id"
            )
        user_id = await sql(self._database_url, query, email)
        assert user_id is not None, f"no account for {email} (was it registered before?)"
        return str(user_id)

    async def grant(self, user_id: str, roles: Sequence[str]) -> None:
        """Give the user ``roles`` besides ``user`` (read by the next sign-in)."""
        granted = list(dict.fromkeys(("user", *roles)))
        await sql(
            self._database_url,
            "UPDATE accounts_user SET roles = $2 WHERE id = $1",
            uuid.UUID(user_id),
            granted,
        )

    async def sign_in(self, user_id: str, email: str, password: str) -> SignedInUser:
        """Sign in with the password alone (for a user without a second factor)."""
        response = await self._client.post(
            f"{API}/auth/login", json={"email": email, "password": password}
        )
        return self._signed_in(user_id, email, password, _ok(response, 200, "login"))

    async def enrol_totp(self, user: SignedInUser) -> SignedInUser:
        """Turn TOTP on with ``user``'s session, then sign in again with a second factor."""
        begun = await self._client.post(
            f"{API}/me/mfa/totp", json={"password": user.password}, headers=user.headers
        )
        secret = str(_ok(begun, 200, "begin TOTP")["secret"])
        confirmed = await self._client.post(
            f"{API}/me/mfa/totp/confirm",
            json={"code": pyotp.TOTP(secret).at(datetime.now(UTC))},
            headers=user.headers,
        )
        first, *rest = _ok(confirmed, 200, "confirm TOTP")["backup_codes"]
        challenge = await self._client.post(
            f"{API}/auth/login", json={"email": user.email, "password": user.password}
        )
        mfa_token = _ok(challenge, 200, "login (second factor required)")["mfa_token"]
        verified = await self._client.post(
            f"{API}/auth/mfa/verify",
            json={"mfa_token": mfa_token, "method": "backup_code", "code": first},
        )
        pair = _ok(verified, 200, "second factor")
        signed_in = self._signed_in(user.id, user.email, user.password, pair)
        return replace(signed_in, totp_secret=secret, backup_codes=tuple(rest))

    async def forget_mail(self, email: str) -> None:
        """Leave no mail of the making behind: unsent ones are deleted from the outbox, and the
        sink forgets the ones already sent.

        The dispatcher keeps a row locked while it sends that mail, so the ``DELETE`` waits for
        a mail in flight and then finds it sent: once it returns, every mail to ``email`` was
        either received by the sink already or will never be sent.
        """
        await sql(
            self._database_url,
            "DELETE FROM notifications_outbox WHERE recipient = $1 AND status = 'pending'",
            email,
        )
        if self._sink is not None:
            self._sink.discard(email)

    @staticmethod
    def _signed_in(user_id: str, email: str, password: str, pair: dict[str, Any]) -> SignedInUser:
        refresh = pair.get("refresh_token")
        assert refresh, "no refresh token in the body (is cookie mode on?)"
        return SignedInUser(
            id=user_id,
            email=email,
            password=password,
            access_token=pair["access_token"],
            refresh_token=refresh,
            headers=bearer(pair["access_token"]),
        )
