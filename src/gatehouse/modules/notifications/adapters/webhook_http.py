"""POSTing webhooks with httpx: one client (made on first use), a deadline for the whole
attempt (httpx's timeouts are per operation), redirects not followed, the answer's body never
read. Errors name the status or the failure, never the URL (it may carry a token) or a header."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from gatehouse.modules.notifications.application.ports import WebhookSender
from gatehouse.modules.notifications.domain.errors import DeliveryFailed

if TYPE_CHECKING:
    import httpx

USER_AGENT = "Gatehouse-Webhooks"


class HttpxWebhookSender(WebhookSender):
    def __init__(self, timeout: float) -> None:
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def post(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        import httpx  # noqa: PLC0415 - only when used (not on the serve path)

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        request_headers = {**headers, "Content-Type": "application/json"}
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._client.stream("POST", url, content=body, headers=request_headers) as answer,
            ):
                status = answer.status_code
        except TimeoutError:
            raise DeliveryFailed("timed out", permanent=False) from None
        except httpx.TimeoutException:
            raise DeliveryFailed("timed out", permanent=False) from None
        except httpx.HTTPError as error:
            raise DeliveryFailed(type(error).__name__, permanent=False) from None
        if not 200 <= status < 300:
            raise DeliveryFailed(f"HTTP {status}", permanent=False)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None
