"""The transactional outbox and its dispatcher, with real PostgreSQL and a real SMTP server.

These tests need real commits (the dispatcher reads on its own connections), so they empty
the outbox table first; each xdist worker has its own database, so nothing else shares it.
Time is a FixedClock: retries become due by moving it, never by sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gatehouse.modules.accounts.adapters.repositories import SqlAlchemyAccountsUnitOfWork
from gatehouse.modules.notifications.adapters.mail_templates import JinjaMailRenderer
from gatehouse.modules.notifications.adapters.orm import outbox_table
from gatehouse.modules.notifications.adapters.outbox import (
    SqlAlchemyOutboxStore,
)
from gatehouse.modules.notifications.adapters.transports import SmtpConfig, SmtpMailTransport
from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.modules.notifications.domain.errors import DeliveryFailed
from gatehouse.modules.notifications.domain.model import RenderedMail
from gatehouse.testing.mail import MailSink
from tests.support.builders import unique_email
from tests.support.clock import FixedClock
from tests.support.uow import accounts_uow

SENDER = "Gatehouse <no-reply@gatehouse.test>"
LINK = "https://gatehouse.test/verify?token=abc&next=<x>"

pytestmark = pytest.mark.usefixtures("empty_outbox")


@pytest_asyncio.fixture(loop_scope="session")
async def empty_outbox(engine: AsyncEngine) -> AsyncIterator[None]:
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {outbox_table.name}"))
    yield


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def outbox_uow(
    session_factory: async_sessionmaker[AsyncSession], clock: FixedClock
) -> Callable[[], SqlAlchemyAccountsUnitOfWork]:
    """A writer's unit of work whose outbox shares its transaction (the accounts module's)."""
    return accounts_uow(session_factory, clock)


def dispatcher(
    engine: AsyncEngine, smtp_server: MailSink, clock: FixedClock
) -> DispatchOutboxHandler:
    transport = SmtpMailTransport(SmtpConfig.from_url(smtp_server.url, timeout=5.0), SENDER)
    return DispatchOutboxHandler(
        store=SqlAlchemyOutboxStore(engine, listen_dsn=None),
        transport=transport,
        renderer=JinjaMailRenderer(),
        clock=clock,
        mail_domain="gatehouse.test",
    )


def verification_mail(to: str) -> OutgoingMail:
    return OutgoingMail(to=to, template="verify_email", params={"link": LINK, "hours": "24"})


async def outbox_rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(select(outbox_table).order_by(outbox_table.c.created_at))
        return list(result.all())


async def test_mail_enqueued_in_a_rolled_back_transaction_is_never_stored_or_sent(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    async with outbox_uow() as tx:
        tx.record(verification_mail(str(unique_email())))
        # no commit: the change and its mail go together

    result = await dispatcher(engine, smtp_server, clock)()

    assert await outbox_rows(engine) == []
    assert result.handled == 0
    assert smtp_server.messages == []


async def test_committed_mail_is_delivered_over_smtp_with_text_and_html_parts(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    to = str(unique_email("verify"))
    async with outbox_uow() as tx:
        tx.record(verification_mail(to))
        await tx.commit()
    [pending] = await outbox_rows(engine)
    assert pending.status == "pending"

    result = await dispatcher(engine, smtp_server, clock)()

    assert (result.sent, result.failed, result.dead) == (1, 0, 0)
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == to
    assert mail["From"] == SENDER
    assert mail["Subject"] == "Confirm your email address"
    assert mail["Message-ID"] == f"<{pending.id}@gatehouse.test>"
    assert smtp_server.envelopes[0].rcpt_tos == (to,)
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert LINK in plain.get_content()
    assert "https://gatehouse.test/verify?token=abc&amp;next=&lt;x&gt;" in html.get_content()

    [sent] = await outbox_rows(engine)
    assert sent.status == "sent"
    assert sent.attempts == 1
    assert sent.sent_at == clock.now()
    assert sent.params == {}  # one-time links are not kept once delivered


async def test_a_permanent_smtp_refusal_dead_letters_the_mail_and_wipes_its_params(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    smtp_server.reply_with = "550 5.7.1 message refused"
    async with outbox_uow() as tx:
        tx.record(verification_mail(str(unique_email())))
        await tx.commit()

    result = await dispatcher(engine, smtp_server, clock)()

    assert (result.sent, result.failed, result.dead) == (0, 0, 1)
    [row] = await outbox_rows(engine)
    assert row.status == "dead"
    assert row.attempts == 1
    assert row.params == {}
    assert "550" in row.last_error
    assert smtp_server.messages == []
    clock.advance(timedelta(days=1))
    assert (await dispatcher(engine, smtp_server, clock)()).handled == 0  # never retried


async def test_a_recipient_refused_with_550_is_dead_lettered(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    smtp_server.reply_with = "550 5.1.1 no such user"
    smtp_server.reply_at = "RCPT"
    async with outbox_uow() as tx:
        tx.record(verification_mail(str(unique_email())))
        await tx.commit()

    result = await dispatcher(engine, smtp_server, clock)()

    [row] = await outbox_rows(engine)
    assert (row.status, row.params) == ("dead", {})
    assert result.dead == 1


async def test_mail_waits_in_the_outbox_while_smtp_is_down_and_goes_out_once_it_is_back(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    to = str(unique_email("outage"))
    async with outbox_uow() as tx:
        tx.record(verification_mail(to))
        await tx.commit()
    dispatch = dispatcher(engine, smtp_server, clock)
    smtp_server.stop()

    failed = await dispatch()

    assert (failed.sent, failed.failed, failed.dead) == (0, 1, 0)
    [row] = await outbox_rows(engine)
    assert row.status == "pending"
    assert row.attempts == 1
    assert row.next_attempt_at > clock.now()
    assert "unreachable" in row.last_error

    smtp_server.start()
    assert (await dispatch()).handled == 0  # back, but the retry is not due yet
    assert smtp_server.messages == []

    clock.advance(row.next_attempt_at - clock.now())
    delivered = await dispatch()

    assert (delivered.sent, delivered.failed, delivered.dead) == (1, 0, 0)
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == to
    [row] = await outbox_rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert (await dispatch()).handled == 0  # and never again


async def test_two_dispatchers_running_concurrently_send_each_mail_exactly_once(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    recipients = [str(unique_email(f"bulk{i}")) for i in range(20)]
    async with outbox_uow() as tx:
        for to in recipients:
            tx.record(verification_mail(to))
        await tx.commit()
    ids = {row.id for row in await outbox_rows(engine)}

    first, second = await asyncio.gather(
        dispatcher(engine, smtp_server, clock)(), dispatcher(engine, smtp_server, clock)()
    )

    assert first.sent + second.sent == 20
    assert first.sent > 0
    assert second.sent > 0  # both really worked, side by side
    mails = await smtp_server.wait_for(20)
    assert len(smtp_server.messages) == 20
    assert sorted(str(mail["To"]) for mail in mails) == sorted(recipients)
    message_ids = {str(mail["Message-ID"]) for mail in mails}
    assert message_ids == {f"<{outbox_id}@gatehouse.test>" for outbox_id in ids}
    rows = await outbox_rows(engine)
    assert {row.status for row in rows} == {"sent"}
    assert {row.attempts for row in rows} == {1}


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
