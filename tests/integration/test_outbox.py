"""The transactional outbox and its dispatcher, with real PostgreSQL and a real SMTP server.

These tests need real commits (the dispatcher reads on its own connections), so they empty
the outbox table first; each xdist worker has its own database, so nothing else shares it.
Time is a FixedClock: retries become due by moving it, never by sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
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
    FernetParamsSealer,
    SqlAlchemyOutboxStore,
)
from gatehouse.modules.notifications.adapters.transports import SmtpConfig, SmtpMailTransport
from gatehouse.modules.notifications.application.dispatch import DispatchOutboxHandler
from gatehouse.modules.notifications.application.outbox import OutboxDispatcher
from gatehouse.modules.notifications.application.ports import ParamsSealer
from gatehouse.modules.notifications.application.public import OutgoingMail
from gatehouse.testing.mail import MailSink
from tests.support.builders import unique_email
from tests.support.clock import FixedClock
from tests.support.uow import SEALER, accounts_uow

SENDER = "Gatehouse <no-reply@gatehouse.test>"
TOKEN = "c2VjcmV0LXRva2VuLW9mLXRoZS1saW5r"
CODE = "582914"
LINK = f"https://gatehouse.test/verify?token={TOKEN}&next=<x>"

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
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
    sealer: ParamsSealer = SEALER,
    *,
    concurrency: int = 1,
) -> DispatchOutboxHandler:
    transport = SmtpMailTransport(SmtpConfig.from_url(smtp_server.url, timeout=5.0), SENDER)
    return DispatchOutboxHandler(
        store=SqlAlchemyOutboxStore(engine, listen_dsn=None),
        transport=transport,
        renderer=JinjaMailRenderer(),
        sealer=sealer,
        clock=clock,
        mail_domain="gatehouse.test",
        concurrency=concurrency,
    )


def verification_mail(to: str) -> OutgoingMail:
    return OutgoingMail(
        to=to, template="verify_email", params={"link": LINK, "code": CODE, "hours": "24"}
    )


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
    assert f"https://gatehouse.test/verify?token={TOKEN}&amp;next=&lt;x&gt;" in html.get_content()

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
    """Each claims batches of due rows (``OutboxDispatcher.BATCH``), several mails in flight:
    more mails than three batches, so both take batches, side by side, and skip each other's."""
    count = 3 * OutboxDispatcher.BATCH + 5
    recipients = [str(unique_email(f"bulk{i}")) for i in range(count)]
    async with outbox_uow() as tx:
        for to in recipients:
            tx.record(verification_mail(to))
        await tx.commit()
    ids = {row.id for row in await outbox_rows(engine)}

    first, second = await asyncio.gather(
        dispatcher(engine, smtp_server, clock, concurrency=4)(),
        dispatcher(engine, smtp_server, clock, concurrency=4)(),
    )

    assert first.sent + second.sent == count
    assert first.sent > 0
    assert second.sent > 0  # both really worked, side by side
    mails = await smtp_server.wait_for(count)
    assert len(smtp_server.messages) == count
    assert sorted(str(mail["To"]) for mail in mails) == sorted(recipients)
    message_ids = {str(mail["Message-ID"]) for mail in mails}
    assert message_ids == {f"<{outbox_id}@gatehouse.test>" for outbox_id in ids}
    rows = await outbox_rows(engine)
    assert {row.status for row in rows} == {"sent"}
    assert {row.attempts for row in rows} == {1}
    assert all(row.params == {} for row in rows)  # one-time links wiped with the batch


async def raw_rows(engine: AsyncEngine) -> str:
    """Every outbox row as PostgreSQL prints it: what anyone with read access sees."""
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT o::text FROM notifications_outbox o"))
        return "\n".join(row[0] for row in rows)


async def test_a_waiting_mail_keeps_its_link_and_code_sealed_until_it_is_sent(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    async with outbox_uow() as tx:
        tx.record(verification_mail(str(unique_email("sealed"))))
        await tx.commit()
    smtp_server.stop()
    assert (await dispatcher(engine, smtp_server, clock)()).failed == 1  # SMTP is down

    waiting = await raw_rows(engine)
    assert "unreachable" in waiting  # the row read (its last error) ...
    assert TOKEN not in waiting  # ... holds neither the link's token
    assert CODE not in waiting  # nor the code
    assert '"v1:' in waiting  # but their sealed form

    smtp_server.start()
    clock.advance(timedelta(hours=1))
    assert (await dispatcher(engine, smtp_server, clock)()).sent == 1
    [mail] = await smtp_server.wait_for(1)
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    assert LINK in plain.get_content()
    assert CODE in plain.get_content()
    assert '"v1:' not in await raw_rows(engine)  # sent: not even the sealed form is kept


async def test_a_mail_queued_before_parameters_were_sealed_is_sent_as_it_is(
    engine: AsyncEngine, smtp_server: MailSink, clock: FixedClock
) -> None:
    to = str(unique_email("legacy"))
    async with engine.begin() as conn:  # as the writer before ADR 0027 left it
        await conn.execute(
            outbox_table.insert().values(
                id=uuid.uuid4(),
                recipient=to,
                template="verify_email",
                params={"link": LINK, "code": CODE, "hours": "24"},
                locale="en",
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )

    assert (await dispatcher(engine, smtp_server, clock)()).sent == 1

    [mail] = await smtp_server.wait_for(1)
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None
    assert (mail["To"], LINK in plain.get_content()) == (to, True)
    [row] = await outbox_rows(engine)
    assert (row.status, row.params) == ("sent", {})


async def test_a_mail_sealed_under_a_dropped_key_is_dead_lettered_and_the_next_one_is_sent(
    outbox_uow: Callable[[], SqlAlchemyAccountsUnitOfWork],
    engine: AsyncEngine,
    smtp_server: MailSink,
    clock: FixedClock,
) -> None:
    lost, sent = str(unique_email("lost")), str(unique_email("sent"))
    async with outbox_uow() as tx:  # sealed under version 1
        tx.record(verification_mail(lost))
        await tx.commit()
    rotated = FernetParamsSealer({2: b"n" * 32})  # version 1 dropped while the mail waited
    async with engine.begin() as conn:
        await conn.execute(
            outbox_table.insert().values(
                id=uuid.uuid4(),
                recipient=sent,
                template="verify_email",
                params=rotated.seal(verification_mail(sent).params).text,
                locale="en",
                next_attempt_at=clock.now() + timedelta(seconds=1),
                created_at=clock.now(),
            )
        )
        clock.advance(timedelta(seconds=1))

    result = await dispatcher(engine, smtp_server, clock, rotated)()

    assert (result.dead, result.sent) == (1, 1)
    [mail] = await smtp_server.wait_for(1)
    assert mail["To"] == sent
    dead = next(row for row in await outbox_rows(engine) if row.recipient == lost)
    assert (dead.params, dead.last_error) == ({}, "params: no key version 'v1'")
