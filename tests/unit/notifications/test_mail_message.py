"""The MIME message the SMTP transport sends is the one the standard library builds with its own
default policy: the kept header classes and parsed headers (``transports._KeptHeaders``) change
what a mail costs, never its bytes. Compared as aiosmtplib flattens it for the wire (its
``flatten_message``, as ``send_message`` does), the random multipart boundary aside."""

from __future__ import annotations

import random
import re
from email.message import EmailMessage
from email.utils import formatdate

import pytest
from aiosmtplib.email import flatten_message

from gatehouse.modules.notifications.adapters.mail_templates import JinjaMailRenderer
from gatehouse.modules.notifications.adapters.transports import build_message
from gatehouse.modules.notifications.domain.model import RenderedMail

SENDER = "Gatehouse <no-reply@gatehouse.test>"
PARAMS = {
    "link": "https://gatehouse.test/verify?token=c2VjcmV0LXRva2VuLW9mLXRoZS1saW5r&next=<x>",
    "code": "582914",
    "hours": "24",
    "name": "Zoë O'Brien-Łukasiewicz, a name long enough to fold a header line somewhere",
    "when": "2026-12-05 10:00",
    "reset": "",
    "reset_link": "https://gatehouse.test/reset?token=abc",
    "remaining": "3",
    "new_email": "ada.new@example.com",
    "provider": "GitHub",
    "change": "totp_enabled",
    "minutes": "10",
    "device": "Firefox on Linux, 192.0.2.1",
    "taken_over": "",
    "ip": "192.0.2.1",
}


def stdlib_message(mail: RenderedMail, sender: str, date: str) -> EmailMessage:
    """What ``build_message`` built before its headers were kept: ``email.policy.default``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = date
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def wire(message: EmailMessage, cte_type: str, seed: int) -> bytes:
    random.seed(seed)  # the generator draws the boundary from ``random``
    return flatten_message(message, cte_type=cte_type)


@pytest.mark.parametrize("cte_type", ["8bit", "7bit"])  # with and without 8BITMIME
@pytest.mark.parametrize("locale", ["en", "de"])
def test_the_sent_bytes_are_the_standard_librarys(
    cte_type: str, locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = JinjaMailRenderer()
    date = formatdate(usegmt=True)
    monkeypatch.setattr(
        "gatehouse.modules.notifications.adapters.transports.formatdate", lambda **_: date
    )
    for template in renderer.mails:  # every mail, in English and in German
        parts = renderer.render(template, PARAMS, locale)
        for n, to in enumerate(["ada@example.com", "Zoë <zoe@example.com>", "bob@example.org"]):
            mail = RenderedMail(to, parts.subject, parts.text, parts.html, f"<m{n}@gatehouse.test>")
            for attempt in range(2):  # the second time, from the kept headers
                ours = wire(build_message(mail, SENDER), cte_type, seed=n + attempt)
                theirs = wire(stdlib_message(mail, SENDER, date), cte_type, seed=n + attempt)
                assert ours == theirs, (template, to)
                assert re.search(rb"^Message-ID: <m\d@gatehouse.test>\r$", ours, re.M)


def test_a_header_value_with_a_line_break_is_still_refused() -> None:
    mail = RenderedMail("ada@example.com", "Hi\r\nBcc: x@evil.test", "t", "<p>h</p>", "<m@x>")
    for _ in range(2):
        with pytest.raises(ValueError, match="linefeed or carriage return"):
            build_message(mail, SENDER)
