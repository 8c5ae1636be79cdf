"""The pages mailed links open: ``/verify-email``, ``/confirm-email``, ``/reset-password``,
``/forgot-password``.

Opening a link (GET) never spends its token: link scanners and mail previews fetch links. The
page shows a form that posts the token back to the same path; only that POST calls the use
case. Plain HTML forms, no script; the security headers (a CSP with ``form-action 'self'``,
``Referrer-Policy: no-referrer``, ``Cache-Control: no-store``) come from the middleware. A web
client that owns these paths on ``GATEHOUSE_PUBLIC_URL`` can replace them: it calls the JSON
endpoints instead.

Each POST counts against the same per-IP rate limit as the JSON endpoint it mirrors (a mailed
token checked: ``token_check``; a mail asked for: ``mail_request``); over it, a 429 page with
``Retry-After`` and the ``RateLimit-*`` headers.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute

from gatehouse.modules.accounts.application.email_change import (
    ConfirmEmailChange,
    ConfirmEmailChangeHandler,
)
from gatehouse.modules.accounts.application.mail_requests import (
    MailRequestKind,
    RequestMail,
    RequestMailHandler,
)
from gatehouse.modules.accounts.application.password_reset import (
    ResetPassword,
    ResetPasswordHandler,
)
from gatehouse.modules.accounts.application.verify_email import VerifyEmail, VerifyEmailHandler
from gatehouse.modules.accounts.domain.errors import InvalidEmail, TokenInvalid, WeakPassword
from gatehouse.shared.errors import TooManyRequests
from gatehouse.shared.http.di import Provide, inject
from gatehouse.shared.http.forms import FormError, read_form
from gatehouse.shared.http.locale import RequestLocale
from gatehouse.shared.http.rate_limits import rate_limited
from gatehouse.shared.http.security import Client

_STYLE = (
    "body{font-family:-apple-system,Segoe UI,Roboto,sans-serif;background:#f5f5f7;"
    "color:#1d1d1f;margin:0;padding:24px}main{max-width:28em;margin:auto;background:#fff;"
    "border-radius:8px;padding:24px}input{display:block;width:100%;box-sizing:border-box;"
    "margin:8px 0 16px;padding:8px;font-size:16px}button{background:#0a66c2;color:#fff;"
    "border:0;border-radius:6px;padding:10px 18px;font-size:16px}.error{color:#b00020}"
)
_EXPIRED = "This link is invalid, has expired or was already used. Ask for a new one."


def _page(
    title: str, body: str, status: int = 200, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """``body`` is HTML built from escaped parts only."""
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><main><h1>{html.escape(title)}</h1>{body}"
        "</main></body></html>",
        status_code=status,
        headers=headers,
    )


def _too_many(error: TooManyRequests) -> HTMLResponse:
    """A 429 page with ``Retry-After`` (the middleware adds the ``RateLimit-*`` headers)."""
    return _page(
        "Too many requests",
        f"<p>Too many requests came from your network in a short time. Try again in "
        f"{error.retry_after} seconds.</p>",
        429,
        {"Retry-After": str(error.retry_after)},
    )


class PageRoute(APIRoute):
    """A page answers its errors as pages, as ``_submit`` does: over a rate limit (counted by
    the route's ``rate_limited`` dependency, before the route runs), a 429 page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def pages_for_limits(request: Request) -> Response:
            try:
                return await handler(request)
            except TooManyRequests as error:
                return _too_many(error)

        return pages_for_limits


router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _form(action: str, fields: str, button: str, error: str | None = None) -> str:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    return (
        f'{message}<form method="post" action="{action}">{fields}'
        f"<button>{html.escape(button)}</button></form>"
    )


def _hidden_token(token: str) -> str:
    return f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'


def _new_password_form(token: str, error: str | None = None) -> str:
    return _form(
        "/reset-password",
        _hidden_token(token) + '<label>New password<input type="password" name="new_password" '
        'autocomplete="new-password" minlength="8" maxlength="1024" required></label>',
        "Save the new password",
        error,
    )


async def _submit(
    request: Request, title: str, act: Callable[[dict[str, str]], Awaitable[HTMLResponse]]
) -> HTMLResponse:
    """Read the form and ``act`` on it; a malformed form or a dead token gets its own page."""
    try:
        fields = await read_form(request)
    except FormError as error:
        return _page("Something went wrong", f"<p>{html.escape(str(error))}</p>", 400)
    try:
        return await act(fields)
    except TokenInvalid:
        return _page(title, f"<p>{_EXPIRED}</p>", 400)


@router.get("/verify-email")
async def verify_email_page(token: str = "") -> HTMLResponse:
    return _page(
        "Confirm your email address",
        _form("/verify-email", _hidden_token(token), "Confirm my address"),
    )


@router.post("/verify-email", dependencies=[rate_limited("token_check")])
@inject
async def verify_email_submit(
    request: Request,
    handler: VerifyEmailHandler = Provide["accounts.verify_email"],
) -> HTMLResponse:
    async def act(fields: dict[str, str]) -> HTMLResponse:
        await handler(VerifyEmail(fields.get("token", "")))
        return _page(
            "Address confirmed", "<p>Your email address is confirmed. You can sign in.</p>"
        )

    return await _submit(request, "Confirm your email address", act)


@router.get("/confirm-email")
async def confirm_email_page(token: str = "") -> HTMLResponse:
    return _page(
        "Confirm your new email address",
        _form("/confirm-email", _hidden_token(token), "Confirm the new address"),
    )


@router.post("/confirm-email", dependencies=[rate_limited("token_check")])
@inject
async def confirm_email_submit(
    request: Request,
    locale: RequestLocale,
    handler: ConfirmEmailChangeHandler = Provide["accounts.confirm_email_change"],
) -> HTMLResponse:
    async def act(fields: dict[str, str]) -> HTMLResponse:
        await handler(ConfirmEmailChange(fields.get("token", ""), locale=locale))
        return _page("Address changed", "<p>Sign in with your new email address from now on.</p>")

    return await _submit(request, "Confirm your new email address", act)


@router.get("/reset-password")
async def reset_password_page(token: str = "") -> HTMLResponse:
    return _page("Choose a new password", _new_password_form(token))


@router.post("/reset-password", dependencies=[rate_limited("token_check")])
@inject
async def reset_password_submit(
    request: Request,
    client: Client,
    locale: RequestLocale,
    handler: ResetPasswordHandler = Provide["accounts.reset_password"],
) -> HTMLResponse:
    async def act(fields: dict[str, str]) -> HTMLResponse:
        token = fields.get("token", "")
        command = ResetPassword(
            token,
            fields.get("new_password", ""),
            ip=client.ip,
            user_agent=client.user_agent,
            locale=locale,
        )
        try:
            await handler(command)
        except WeakPassword as error:
            return _page("Choose a new password", _new_password_form(token, error.detail), 422)
        return _page(
            "Password changed",
            "<p>Your password is changed and every device was signed out. Sign in again with "
            "the new password.</p>",
        )

    return await _submit(request, "Choose a new password", act)


@router.get("/forgot-password")
async def forgot_password_page() -> HTMLResponse:
    return _page(
        "Reset your password",
        _form(
            "/forgot-password",
            '<label>Email address<input type="email" name="email" autocomplete="email" '
            'maxlength="320" required></label>',
            "Mail me a link",
        ),
    )


@router.post("/forgot-password", dependencies=[rate_limited("mail_request")])
@inject
async def forgot_password_submit(
    request: Request,
    locale: RequestLocale,
    handler: RequestMailHandler = Provide["accounts.request_mail"],
) -> HTMLResponse:
    async def act(fields: dict[str, str]) -> HTMLResponse:
        kind, email = MailRequestKind.PASSWORD_RESET, fields.get("email", "")
        try:
            await handler(RequestMail(kind, email, locale))
        except InvalidEmail:
            return _page("Reset your password", "<p>That is not an email address.</p>", 422)
        return _page(
            "Check your mail",
            "<p>If the address has an account, a mail with a link is on its way. The link works "
            "for 30 minutes.</p>",
        )

    return await _submit(request, "Reset your password", act)
