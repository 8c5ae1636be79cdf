"""The SMTP transport against a real SMTP server: mails sent back to back share a connection,
and a refused mail's connection is closed, never reused."""

from __future__ import annotations

import pytest

from gatehouse.modules.notifications.adapters.mail_templates import JinjaMailRenderer
from gatehouse.modules.notifications.adapters.transports import SmtpConfig, SmtpMailTransport
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import RenderedMail
from gatehouse.testing.mail import MailSink
from tests.support.builders import unique_email

SENDER = "Gatehouse <no-reply@gatehouse.test>"
LINK = "https://gatehouse.test/verify?token=c2VjcmV0LXRva2VuLW9mLXRoZS1saW5r"


async def test_mails_back_to_back_all_arrive_and_a_refused_one_does_not_stop_the_next(
    smtp_server: MailSink,
) -> None:
    """The transport keeps a connection for the next mail; one whose mail was refused is
    closed, and the next mail goes through a new one."""
    transport = SmtpMailTransport(SmtpConfig.from_url(smtp_server.url, timeout=5.0), SENDER)
    renderer = JinjaMailRenderer()

    def mail(to: str, n: int) -> RenderedMail:
        parts = renderer.render("verify_email", {"link": LINK, "hours": "24"}, "en")
        return RenderedMail(to, parts.subject, parts.text, parts.html, f"<m{n}@gatehouse.test>")

    first, second, refused, after = (str(unique_email("reuse")) for _ in range(4))
    await transport.send(mail(first, 1))
    await transport.send(mail(second, 2))
    smtp_server.reply_with = "550 5.7.1 message refused"
    with pytest.raises(DeliveryFailed) as refusal:
        await transport.send(mail(refused, 3))
    assert refusal.value.permanent
    smtp_server.reply_with = None
    await transport.send(mail(after, 4))

    received = await smtp_server.wait_for(3)
    assert [message["To"] for message in received] == [first, second, after]
    assert [message["Message-ID"] for message in received] == [
        "<m1@gatehouse.test>",
        "<m2@gatehouse.test>",
        "<m4@gatehouse.test>",
    ]
