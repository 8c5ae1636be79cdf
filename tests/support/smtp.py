"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

It runs on its own thread and loop, so the code under test talks to it over TCP exactly as it
would to a mail relay. ``wait_for`` blocks on a condition the handler signals: no polling.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Envelope:
    mail_from: str
    rcpt_tos: tuple[str, ...]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self._server.refusal("RCPT")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        refusal = self._server.refusal("DATA")
        if refusal is not None:
            return refusal
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._server.record(message, Envelope(envelope.mail_from, tuple(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class SmtpServer:
    """``url`` to configure the app with; ``messages`` as received.

    ``reply_with = "550 5.1.1 no such user"`` makes it refuse every mail with that reply, at
    the ``reply_at`` stage (``"DATA"`` by default, or ``"RCPT"``). ``stop()`` / ``start()``
    simulate an outage: the port stays the same, so configured clients reconnect to it.
    """

    def __init__(self, host: str = HOST, port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.reply_with: str | None = None
        self.reply_at: Literal["RCPT", "DATA"] = "DATA"
        self._arrived = threading.Condition()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        # A Controller closes its loop when stopped, so every start gets a new one.
        controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def refusal(self, stage: Literal["RCPT", "DATA"]) -> str | None:
        return self.reply_with if self.reply_with and self.reply_at == stage else None

    def record(self, message: EmailMessage, envelope: Envelope) -> None:
        with self._arrived:
            self.messages.append(message)
            self.envelopes.append(envelope)
            self._arrived.notify_all()

    def _wait(self, count: int, timeout: float) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)

    async def wait_for(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109 - the suites' API; the wait runs in a thread
    ) -> list[EmailMessage]:
        """Return the first ``count`` messages once that many have arrived."""
        if not await asyncio.to_thread(self._wait, count, timeout):
            msg = f"expected {count} message(s) within {timeout} s, got {len(self.messages)}"
            raise TimeoutError(msg)
        with self._arrived:
            return self.messages[:count]

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()
            self.envelopes.clear()
