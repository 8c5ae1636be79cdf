"""Without SMTP, a mail is one readable log line with its link and code."""

from __future__ import annotations

import logging

import pytest

from gatehouse.modules.notifications.adapters.transports import LogMailTransport, mail_summary
from gatehouse.modules.notifications.domain.model import RenderedMail

TEXT = """Hello,

Confirm your email address by opening this link:

http://127.0.0.1:8000/verify-email?token=u4j-GJ3XCTXdO5CXTmtVMvbrokcR0l7Y3oQaZp3wjLg

Or enter this code where you signed up: 042137

The link works once and expires in 24 hours. See http://127.0.0.1:8000 for more.
"""


async def test_a_logged_mail_puts_its_link_and_code_on_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mail = RenderedMail(
        to="ada@example.com", subject="Confirm", text=TEXT, html="<p>…</p>", message_id="<1@x>"
    )
    with caplog.at_level(logging.INFO, logger="gatehouse.mail"):
        await LogMailTransport().send(mail)
    [record] = caplog.records
    assert record.getMessage() == (
        "mail to ada@example.com: Confirm: "
        "http://127.0.0.1:8000/verify-email?token=u4j-GJ3XCTXdO5CXTmtVMvbrokcR0l7Y3oQaZp3wjLg "
        "code 042137"
    )
    assert record.__dict__["mail_text"] == TEXT


def test_a_mail_without_link_or_code_says_so() -> None:
    assert mail_summary("Your password was changed.") == "(no link or code)"
