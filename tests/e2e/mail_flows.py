"""What the mail-flow end-to-end tests (tests/e2e/test_mail_flows_*.py) share: the paths, a
new password, the form pages' content type, and a bounded wait for the outbox to drain."""

from __future__ import annotations

import asyncio

from gatehouse.main.settings import Settings
from tests.e2e.conftest import sql

NEW_PASSWORD = "a brand new passphrase 42"
FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
RESEND = "/api/v1/auth/verify-email/resend"
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


async def pending_mail(settings: Settings) -> int:
    count: int = await sql(
        settings, "SELECT count(*) FROM notifications_outbox WHERE status = 'pending'"
    )
    return count


async def settled(settings: Settings) -> None:
    """Wait (bounded) until the dispatcher has handled every queued row."""
    for _ in range(200):
        if await pending_mail(settings) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never drained")
