"""HTTP to OpenID providers: one ``httpx.AsyncClient``, a deadline for a whole request (httpx's
timeouts are per operation), answers capped in size, and every failure to get an answer as
``ProviderUnavailable``. Nothing here logs a request's body or headers (secrets, tokens)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gatehouse.modules.auth.domain.errors import ProviderRejected, ProviderUnavailable

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("gatehouse.auth")

MAX_ANSWER_BYTES = 1 << 20
_OAUTH_ERROR = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}")  # RFC 6749 5.2's charset


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    status: int
    headers: httpx.Headers
    body: bytes

    def json_object(self) -> dict[str, Any] | None:
        try:
            value = json.loads(self.body)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def oauth_error(self) -> str | None:
        """The ``error`` of an RFC 6749 error answer, when it is one."""
        error = (self.json_object() or {}).get("error")
        return error if isinstance(error, str) and _OAUTH_ERROR.fullmatch(error) else None


def unavailable(detail: str) -> ProviderUnavailable:
    log.warning("OpenID provider unavailable: %s", detail)
    return ProviderUnavailable(detail)


def rejected(detail: str) -> ProviderRejected:
    log.warning("OpenID provider answer refused: %s", detail)
    return ProviderRejected(detail)


class ProviderHttp:
    """The registry's one ``httpx.AsyncClient`` (made on first use), with the deadline for a
    whole request that httpx's per-operation timeouts do not give, and a cap on answers."""

    def __init__(self, *, timeout: float, connect_timeout: float) -> None:
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._client: httpx.AsyncClient | None = None

    async def send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ProviderAnswer:
        import httpx  # noqa: PLC0415 - only when used (not on the serve path)

        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=self._connect_timeout),
                follow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": "Gatehouse"},
            )
        body = bytearray()
        try:
            async with asyncio.timeout(self._timeout):
                request = self._client.build_request(method, url, data=data, headers=headers)
                response = await self._client.send(request, stream=True)
                try:
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_ANSWER_BYTES:
                            raise unavailable(f"{what}: an answer over {MAX_ANSWER_BYTES} bytes")
                finally:
                    await response.aclose()
        except TimeoutError as error:
            raise unavailable(f"{what}: no answer within {self._timeout:g} s") from error
        except httpx.HTTPError as error:
            raise unavailable(f"{what}: {type(error).__name__} {error}") from error
        return ProviderAnswer(response.status_code, response.headers, bytes(body))

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
