"""The request's preferred language among those Gatehouse has mails for (Accept-Language)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import Depends, Header

from gatehouse.shared.http.di import Provide, inject

DEFAULT_LOCALE = "en"


def preferred_locale(accept_language: str | None, supported: Sequence[str]) -> str:
    """The supported language the header ranks highest (RFC 9110 q-values), else English.

    Only the primary subtag counts: ``de-AT`` asks for ``de``.
    """
    best, best_q = DEFAULT_LOCALE, 0.0
    for position, item in enumerate((accept_language or "")[:512].split(",")[:20]):
        language, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        primary = language.strip().lower().split("-")[0]
        # An earlier entry wins a tie: subtract a hair per position.
        score = q - position * 1e-6
        if primary in supported and q > 0 and score > best_q:
            best, best_q = primary, score
    return best


@inject
async def _request_locale(
    accept_language: Annotated[str | None, Header(include_in_schema=False)] = None,
    supported: tuple[str, ...] = Provide["mail_locales"],
) -> str:
    return preferred_locale(accept_language, supported)


RequestLocale = Annotated[str, Depends(_request_locale)]
