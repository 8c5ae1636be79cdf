"""Every place a password or code is consumed goes through ``guarded``: the login, the token
endpoint's password grant, the MFA step, and step-up (the re-authentication of sensitive
changes). A wrong secret at any of them counts against the same account and IP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gatehouse.modules.auth.application.ports import Lockout, SignInAttempt


@asynccontextmanager
async def guarded(
    lockout: Lockout,
    attempt: SignInAttempt,
    *,
    wrong: tuple[type[Exception], ...],
    right: tuple[type[Exception], ...] = (),
) -> AsyncIterator[None]:
    """Admit the attempt (429 ``too_many_attempts`` while locked), then count the block's
    outcome: one of ``wrong`` is a failure; finishing, or one of ``right`` (the secret was right
    but something else refused the sign-in), is a success. Any other error (an outage) counts
    as neither."""
    await lockout.admit(attempt)
    try:
        yield
    except wrong:
        await lockout.failed(attempt)
        raise
    except right:
        await lockout.succeeded(attempt)
        raise
    except Exception:  # (a cancelled request's place is freed by the in-flight time limit)
        await lockout.released(attempt)
        raise
    await lockout.succeeded(attempt)
