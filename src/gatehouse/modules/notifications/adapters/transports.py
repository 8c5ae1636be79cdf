"""Mail transports: SMTP (aiosmtplib) and the log, for development."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from gatehouse.modules.notifications.application.ports import MailTransport
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import RenderedMail

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


def build_message(mail: RenderedMail, sender: str) -> EmailMessage:
    message = EmailMessage()  # the policy refuses CR/LF in header values
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = formatdate(usegmt=True)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class SmtpMailTransport(MailTransport):
    def __init__(self, config: SmtpConfig, sender: str) -> None:
        self._config = config
        self._sender = sender
        # One TLS context for the process: building one loads the system's CA certificates,
        # which cost about ten times the rest of a mail's sending (bench/outbox_drain.py).
        tls = config.implicit_tls or config.starttls
        self._tls_context = ssl.create_default_context() if tls else None
        self._local_hostname: str | None = None  # for EHLO; aiosmtplib looks it up per mail

    async def _ehlo_name(self) -> str:
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        return self._local_hostname

    async def send(self, mail: RenderedMail) -> None:
        config = self._config
        try:
            await aiosmtplib.send(
                build_message(mail, self._sender),
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
