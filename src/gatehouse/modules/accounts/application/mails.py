"""The accounts module's mails: which template, which link, which one-time token.

Links carry the token in ``token=`` and open a page under ``GATEHOUSE_PUBLIC_URL``
(``/verify-email``, ``/reset-password``) that does not consume it on GET: only the POST does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from gatehouse.modules.accounts.application.ports import AccountsUnitOfWork
from gatehouse.modules.accounts.application.tokens import hash_code, hash_secret, new_secret
from gatehouse.modules.accounts.domain.model import Email, OneTimeToken, TokenPurpose, User
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.shared.ids import new_id


@dataclass(frozen=True, slots=True)
class LinkSettings:
    public_url: str
    verification_ttl: timedelta
    reset_ttl: timedelta = timedelta(minutes=30)

    def link(self, page: str, token: str) -> str:
        return f"{self.public_url}/{page}?{urlencode({'token': token})}"

    def ttl(self, purpose: TokenPurpose) -> timedelta:
        return self.reset_ttl if purpose is TokenPurpose.RESET_PASSWORD else self.verification_ttl

    def token_mail(
        self, to: str, purpose: TokenPurpose, secret: str, locale: str, code: str = ""
    ) -> OutgoingMail:
        """The mail carrying a fresh one-time token of this purpose (and its code, if any)."""
        ttl = self.ttl(purpose)
        hours = str(int(ttl.total_seconds() // 3600))
        if purpose is TokenPurpose.VERIFY_EMAIL:
            params = {"link": self.link("verify-email", secret), "hours": hours, "code": code}
            return OutgoingMail(to, "verify_email", params, locale)
        if purpose is TokenPurpose.CHANGE_EMAIL:
            params = {"link": self.link("confirm-email", secret), "hours": hours}
            return OutgoingMail(to, "email_change_confirm", params, locale)
        params = {
            "link": self.link("reset-password", secret),
            "minutes": str(int(ttl.total_seconds() // 60)),
        }
        return OutgoingMail(to, "password_reset", params, locale)

    def notice(self, to: str, template: str, locale: str, **params: str) -> OutgoingMail:
        """A security notice; each carries a way to act if it was not the owner."""
        return OutgoingMail(
            to, template, {"reset_link": f"{self.public_url}/forgot-password", **params}, locale
        )


def password_changed_notice(
    links: LinkSettings, user: User, now: datetime, locale: str, *, everywhere: bool
) -> OutgoingMail:
    """``everywhere``: every session ended (a reset), else all but the changing one."""
    return links.notice(
        user.email.value,
        "password_changed",
        locale,
        name=user.display_name.value if user.display_name else "",
        when=now.strftime("%Y-%m-%d %H:%M"),
        reset="1" if everywhere else "",
    )


async def issue_token(
    uow: AccountsUnitOfWork,
    user: User,
    purpose: TokenPurpose,
    ttl: timedelta,
    now: datetime,
    *,
    new_email: Email | None = None,
    code: str | None = None,
) -> str:
    """A new one-time token for the user; earlier unused ones of this purpose stop working.
    ``code``: a short code that also redeems it (with the account's address)."""
    secret = new_secret()
    token_hash = hash_secret(secret)
    await uow.tokens.add(
        OneTimeToken(
            id=new_id(),
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + ttl,
            new_email=new_email,
            code_hash=None if code is None else hash_code(token_hash, code),
        )
    )
    return secret
