"""Mail transports: SMTP (aiosmtplib) and the log, for development.

aiosmtplib is imported when an SMTP transport is built (``GATEHOUSE_SMTP_URL`` set), so a
process that only logs its mails, or never sends any, does not hold it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import functools
import logging
import re
import socket
import ssl
import time
from dataclasses import dataclass
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from gatehouse.modules.notifications.application.ports import MailTransport
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import RenderedMail

if TYPE_CHECKING:
    import aiosmtplib

log = logging.getLogger("gatehouse.mail")

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    timeout: float

    @classmethod
    def from_url(cls, url: str, timeout: float) -> SmtpConfig:
        """Parse ``smtp://[user:pass@]host:port`` (``smtps://`` for TLS, ``?starttls=true``)."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            msg = "GATEHOUSE_SMTP_URL must look like smtp://[user:pass@]host:port or smtps://..."
            raise ValueError(msg)
        implicit = parts.scheme == "smtps"
        query = parse_qs(parts.query)
        starttls = query.get("starttls", ["false"])[0].lower() in _TRUE
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=starttls and not implicit,
            timeout=timeout,
        )


class _KeptHeaders(HeaderRegistry):
    """The standard library's header registry, minus two costs it has on every mail (about
    half of building and flattening one, bench/outbox_drain.py): it makes a new class each time
    it is asked for a header's class (for every header set, and again to check how many of it a
    message may hold), and it parses every value, though the From, the MIME-Version and the
    parts' Content-Type and Content-Transfer-Encoding are the same in every mail. Here each
    name's class is made once, and the header objects (immutable: a ``str`` with its parse
    tree) of the last few hundred values are kept, but for the headers that differ in every
    mail (``PER_MAIL``: nothing of a recipient is kept). What a header is and how it folds do
    not change: same classes, same parser, same policy otherwise."""

    PER_MAIL = frozenset({"to", "cc", "bcc", "message-id", "date"})

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}
        self._parsed = functools.lru_cache(maxsize=512)(super().__call__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        made = self._classes.get(name)
        if made is None:
            made = super().__getitem__(name)
            if len(self._classes) < 256:  # the names a mail has: a handful
                self._classes[name] = made
        return made

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is not str or name.lower() in self.PER_MAIL:
            return super().__call__(name, value)  # as the registry does
        return self._parsed(name, value)


# ``EmailMessage()``'s own policy (``email.policy.default``) with those headers; aiosmtplib
# flattens with ``email.policy.SMTP`` as before. The policy refuses CR/LF in header values.
_POLICY = email.policy.default.clone(header_factory=_KeptHeaders())


def build_message(mail: RenderedMail, sender: str) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = formatdate(usegmt=True)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class SmtpMailTransport(MailTransport):
    """One SMTP session per mail, or one kept from a mail sent a moment ago: a connection goes
    back to a small pool after a mail the server accepted and is used again only within
    ``REUSE_SECONDS`` (a backlog being drained), so an idle server's timeout never meets it.
    A connection that failed in any way is closed, never reused; the mail is retried later by
    the outbox, as when a fresh connection fails."""

    REUSE_SECONDS = 2.0
    IDLE_CONNECTIONS = 8

    def __init__(self, config: SmtpConfig, sender: str) -> None:
        import aiosmtplib  # noqa: PLC0415, F401 - loaded with the transport (see the module doc)

        self._config = config
        self._sender = sender
        # One TLS context for the process: building one loads the system's CA certificates,
        # which cost about ten times the rest of a mail's sending (bench/outbox_drain.py).
        tls = config.implicit_tls or config.starttls
        self._tls_context = ssl.create_default_context() if tls else None
        self._local_hostname: str | None = None  # for EHLO; aiosmtplib looks it up per mail
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # (connection, when it came back)

    async def _ehlo_name(self) -> str:
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def _connection(self) -> aiosmtplib.SMTP:
        import aiosmtplib  # noqa: PLC0415 - loaded by __init__ already

        now = time.monotonic()
        while self._idle:
            client, since = self._idle.pop()
            if now - since <= self.REUSE_SECONDS and client.is_connected:
                return client
            client.close()
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            use_tls=config.implicit_tls,
            start_tls=config.starttls if config.starttls else False,
            timeout=config.timeout,
            tls_context=self._tls_context,
            local_hostname=await self._ehlo_name(),
        )
        await client.connect()  # EHLO, STARTTLS and AUTH as configured
        return client

    async def send(self, mail: RenderedMail) -> None:
        import aiosmtplib  # noqa: PLC0415 - loaded by __init__ already

        message = build_message(mail, self._sender)
        client: aiosmtplib.SMTP | None = None
        accepted = False
        try:
            client = await self._connection()
            await client.send_message(message)
            accepted = True
        except aiosmtplib.SMTPRecipientsRefused as error:
            refusals = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
            raise DeliveryFailed(
                f"SMTP recipients refused: {refusals}",
                permanent=all(500 <= r.code < 600 for r in error.recipients),
            ) from error
        except aiosmtplib.SMTPResponseException as error:
            raise DeliveryFailed(
                f"SMTP {error.code}: {error.message}", permanent=500 <= error.code < 600
            ) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryFailed(f"SMTP unreachable: {error!r}", permanent=False) from error
        finally:
            if client is not None and not accepted:  # failed or cancelled: never reused
                client.close()
        if len(self._idle) < self.IDLE_CONNECTIONS:
            self._idle.append((client, time.monotonic()))
        else:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    import aiosmtplib  # noqa: PLC0415 - loaded with the transport

    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        await client.quit()
    client.close()


# Links that carry a query: the mailed ones.
_LINK = re.compile(r"https?://[^\s<>\"']+\?[^\s<>\"']+")
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def mail_summary(text: str) -> str:
    """A mail's links and one-time codes, on one line: what a developer needs from it."""
    found = [*_LINK.findall(text), *(f"code {code}" for code in _CODE.findall(text))]
    return " ".join(found) or "(no link or code)"


class LogMailTransport(MailTransport):
    """Writes mails to the log instead of sending them (no GATEHOUSE_SMTP_URL: development).

    The message is one readable line, ``mail to <address>: <subject>: <link> code <code>``, so
    the link can be copied from the console; the whole text is in ``mail_text``.
    """

    async def send(self, mail: RenderedMail) -> None:
        log.info(
            "mail to %s: %s: %s",
            mail.to,
            mail.subject,
            mail_summary(mail.text),
            extra={
                "mail_delivery": "not sent: GATEHOUSE_SMTP_URL is unset",
                "mail_to": mail.to,
                "mail_subject": mail.subject,
                "mail_text": mail.text,
            },
        )
