"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts: the mail sink.

It runs on its own thread and loop, so the code under test talks to it over TCP exactly as it
would to a mail relay. ``wait_for`` blocks on a condition the handler signals: no polling.
``link_in``, ``token_in`` and ``code_in`` read what a test needs out of a message.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any, Literal

HOST = "127.0.0.1"
LINK = re.compile(r"https?://[^\s<>\"')]+")
TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")
CODE = re.compile(r"\b(\d{6})\b")


def text_of(message: EmailMessage) -> str:
    """The plain-text body (every mail Gatehouse sends has one)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "the mail has no text/plain part"
    content: str = body.get_content()
    return content


def link_in(message: EmailMessage) -> str:
    """The first link in the mail (for a token mail: the one to open)."""
    match = LINK.search(text_of(message))
    assert match is not None, "no link in the mail"
    return match.group(0)


def token_in(message: EmailMessage) -> str:
    """The token of the mail's link (``…?token=…``)."""
    match = TOKEN.search(text_of(message))
    assert match is not None, "no token link in the mail"
    return match.group(1)


def code_in(message: EmailMessage) -> str:
    """The mail's six-digit code (a sign-in code, or the code beside a verification link)."""
    codes = CODE.findall(text_of(message))
    assert len(codes) == 1, f"expected one six-digit code in the mail, found {codes}"
    code: str = codes[0]
    return code


def recipients(message: EmailMessage) -> set[str]:
    """The addresses of the To header, lowercased."""
    return {address.lower() for _, address in getaddresses(message.get_all("to", []))}


@dataclass(frozen=True, slots=True)
class Envelope:
    mail_from: str
    rcpt_tos: tuple[str, ...]


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        refusal = self._sink.refusal("RCPT")
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        refusal = self._sink.refusal("DATA")
        if refusal is not None:
            return refusal
        raw: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._sink.record(message, Envelope(envelope.mail_from, tuple(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class MailSink:
    """``url`` to configure the app with (``smtp://127.0.0.1:PORT``); ``messages`` as received.

    ``reply_with = "550 5.1.1 no such user"`` makes it refuse every mail with that reply, at
    the ``reply_at`` stage (``"DATA"`` by default, or ``"RCPT"``). ``stop()`` / ``start()``
    simulate an outage: the port stays the same, so configured clients reconnect to it.
    ``reset()`` (the ``mail_sink`` fixture calls it before each test) clears the messages,
    accepts mail again and starts it if a test stopped it.
    """

    link_in = staticmethod(link_in)
    token_in = staticmethod(token_in)
    code_in = staticmethod(code_in)

    def __init__(self, host: str = HOST, port: int | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.reply_with: str | None = None
        self.reply_at: Literal["RCPT", "DATA"] = "DATA"
        self._arrived = threading.Condition()
        self._controller: Any = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        from aiosmtpd.controller import Controller  # noqa: PLC0415 - the extra `testing`

        # A Controller closes its loop when stopped, so every start gets a new one.
        controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def reset(self) -> None:
        self.clear()
        self.reply_with = None
        self.reply_at = "DATA"
        self.start()

    def refusal(self, stage: Literal["RCPT", "DATA"]) -> str | None:
        return self.reply_with if self.reply_with and self.reply_at == stage else None

    def record(self, message: EmailMessage, envelope: Envelope) -> None:
        with self._arrived:
            self.messages.append(message)
            self.envelopes.append(envelope)
            self._arrived.notify_all()

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received so far whose To header names ``address``."""
        wanted = address.lower()
        with self._arrived:
            return [message for message in self.messages if wanted in recipients(message)]

    def _matching(self, to: str | None) -> list[EmailMessage]:
        return self.messages if to is None else self.to(to)

    def _wait(self, count: int, timeout: float, to: str | None) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self._matching(to)) >= count, timeout)

    async def wait_for(
        self,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109 - the suites' API; the wait runs in a thread
        *,
        to: str | None = None,
    ) -> list[EmailMessage]:
        """Return the first ``count`` messages (to ``to``, if given) once that many arrived."""
        if not await asyncio.to_thread(self._wait, count, timeout, to):
            got = len(self._matching(to))
            whom = "" if to is None else f" to {to}"
            msg = f"expected {count} message(s){whom} within {timeout} s, got {got}"
            raise TimeoutError(msg)
        with self._arrived:
            return self._matching(to)[:count]

    def discard(self, to: str) -> None:
        """Forget every message received so far whose To header names ``to``."""
        wanted = to.lower()
        with self._arrived:
            kept = [
                (message, envelope)
                for message, envelope in zip(self.messages, self.envelopes, strict=True)
                if wanted not in recipients(message)
            ]
            self.messages[:] = [message for message, _ in kept]
            self.envelopes[:] = [envelope for _, envelope in kept]

    def clear(self) -> None:
        with self._arrived:
            self.messages.clear()
            self.envelopes.clear()
