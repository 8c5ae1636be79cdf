"""uvicorn's httptools protocol with the contract's limits on a request's head.

httptools (llhttp) has no limit of its own: it gathers a header of any size until its line
ends, and uvicorn keeps every header. This subclass feeds the parser at most the allowed head
(the URL, then 32 KiB of header fields) and refuses the rest as it arrives: an overlong URL is
414, an overlong header section 431, bytes that are not HTTP 400. The refusal runs through the
app (``scope["extensions"]["gatehouse.refused"]``), so it is the same problem document, with
``X-Request-ID`` and the security headers, logged and counted like any answer. The connection
then closes: no more is written, and what the client still sends is read and dropped for
``LINGER_SECONDS`` (a close with unread bytes would reset the connection before the client
read the answer).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from gatehouse.main.http.limits import MAX_HEADER_BYTES, MAX_URL_BYTES, REFUSAL

# Room for the request line around the URL: the method, the spaces, "HTTP/1.1\r\n", and the
# empty line that ends the head.
REQUEST_LINE_BYTES = 64
LINGER_SECONDS = 2.0


class HeadTooLarge(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _LingeringClose(asyncio.Transport):
    """The transport as the refusal's response cycle sees it: closing it lingers."""

    def __init__(self, protocol: LimitedHttpToolsProtocol) -> None:
        super().__init__()
        self._protocol = protocol

    def write(self, data: bytes | bytearray | memoryview[Any]) -> None:
        self._protocol.transport.write(data)

    def is_closing(self) -> bool:
        return self._protocol.transport.is_closing()

    def close(self) -> None:
        self._protocol.linger()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """``uvicorn.Config(http=LimitedHttpToolsProtocol)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head: int | None = 0  # bytes of this request's head fed so far; None in its body
        self._url_bytes = 0
        self._refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: read and drop
        self._unset_keepalive_if_required()
        view = memoryview(data)
        try:
            while self._head is not None and view:
                room = MAX_HEADER_BYTES + self._url_bytes + REQUEST_LINE_BYTES - self._head
                if room <= 0:
                    raise HeadTooLarge(431)
                chunk, view = view[:room], view[room:]
                self._head += len(chunk)
                self._feed(chunk)
                if self.transport.is_closing():
                    return
            if view:
                self._feed(view)
        except HeadTooLarge as refused:
            self._refuse(refused.status)

    def _feed(self, data: memoryview) -> None:
        """uvicorn's ``data_received``, but an overlong URL (raised in ``on_url``) is 414."""
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, HeadTooLarge):
                raise error.__context__ from None
            self._refuse_invalid()
        except httptools.HttpParserError:
            self._refuse_invalid()
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    # Parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > MAX_URL_BYTES:
            raise HeadTooLarge(414)  # stops the parser
        super().on_url(url)

    def on_headers_complete(self) -> None:
        self._head = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head = 0

    def _refuse_invalid(self) -> None:
        """Bytes that are not HTTP: a problem document, unless they broke the body of a request
        the app is handling (then uvicorn's plain 400, which ends the connection at once)."""
        if self._head is not None:
            self._refuse(400)
        else:
            self.send_400_response("Invalid HTTP request received.")

    def _refuse(self, status: int) -> None:
        """Answer ``status`` through the app, then close, reading nothing more into the parser."""
        self._refused = True
        self._unset_keepalive_if_required()
        try:
            method = self.parser.get_method().decode("ascii")
        except (httptools.HttpParserError, UnicodeDecodeError):
            method = "GET"
        path = "/"
        if status == 431:  # the URL was read whole
            try:
                path = httptools.parse_url(self.url).path.decode("ascii")
            except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
                path = "/"
        scope: Any = {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "1.1",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "root_path": self.root_path,
            "method": method,
            "path": path,
            "raw_path": path.encode("ascii"),
            "query_string": b"",
            "headers": [],  # never read whole: none of them is believed
            "state": self.app_state.copy(),
            "extensions": {REFUSAL: status},
        }
        previous = self.cycle
        self.cycle = RequestResponseCycle(
            scope=scope,
            transport=_LingeringClose(self),
            flow=self.flow,
            logger=self.logger,
            access_logger=self.access_logger,
            access_log=self.access_log,
            default_headers=self.server_state.default_headers,
            message_event=asyncio.Event(),
            expect_100_continue=False,
            keep_alive=False,
            on_response=lambda: None,
        )
        self.cycle.more_body = False  # the app reads an empty body at once
        self.cycle.message_event.set()
        if previous is None or previous.response_complete:
            self._start_asgi_task(self.cycle, self.app)
        else:  # after the response under way, as uvicorn queues a pipelined request
            self.pipeline.appendleft((self.cycle, self.app))

    def linger(self) -> None:
        """Stop writing (FIN) and drop what still comes, for ``LINGER_SECONDS`` at most."""
        transport = self.transport
        if transport.is_closing():
            return
        if not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER_SECONDS, transport.close)
