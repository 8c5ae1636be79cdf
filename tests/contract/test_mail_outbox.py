"""One suite for the MailOutbox port, run against the fake and the real adapter.

The port's promise: a mail enqueued in the caller's transaction is sent only if that
transaction commits. Each side gives the shared tests a small probe: ``begin()`` opens a
transaction with its outbox, and ``kept(*to)`` reads back what the outbox holds for those
recipients once it is over (the fake's list; the real one's rows by due time, the order the
dispatcher takes them in, with the time-ordered id breaking the ties it leaves open).

The real side runs in ``tx_session_factory``: its commits are savepoints that the test's end
undoes, so no dispatcher ever sees these rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.modules.notifications.adapters.orm import outbox_table
from gatehouse.modules.notifications.adapters.outbox import SqlAlchemyMailOutbox
from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail
from tests.support.builders import T0, unique_email
from tests.support.clock import FixedClock
from tests.support.fakes import InMemoryMailOutbox
from tests.support.uow import SEALER, opened_params


class Transaction(Protocol):
    @property
    def outbox(self) -> MailOutbox: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class Side(Protocol):
    def begin(self) -> contextlib.AbstractAsyncContextManager[Transaction]:
        """A transaction; leaving it without ``commit`` rolls it back."""
        ...

    async def kept(self, *recipients: str) -> list[OutgoingMail]:
        """The committed mails to these recipients, in the order they will be sent."""
        ...


class _FakeTransaction:
    def __init__(self, outbox: InMemoryMailOutbox) -> None:
        self.outbox = outbox

    async def commit(self) -> None:
        self.outbox.commit()

    async def rollback(self) -> None:
        self.outbox.rollback()


class InMemorySide:
    def __init__(self) -> None:
        self.table: list[OutgoingMail] = []

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        outbox = InMemoryMailOutbox(self.table)
        try:
            yield _FakeTransaction(outbox)
        finally:
            outbox.rollback()  # what is still pending was not committed

    async def kept(self, *recipients: str) -> list[OutgoingMail]:
        return [mail for mail in self.table if mail.to in recipients]


class _SqlTransaction:
    def __init__(self, session: AsyncSession) -> None:
        self.outbox = SqlAlchemyMailOutbox(session, FixedClock(T0), SEALER)
        self._session = session

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()


class SqlAlchemySide:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = session_factory

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[Transaction]:
        async with self._sessions() as session:  # closing without a commit rolls back
            yield _SqlTransaction(session)

    async def kept(self, *recipients: str) -> list[OutgoingMail]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(outbox_table)
                .where(outbox_table.c.recipient.in_(recipients))
                .order_by(outbox_table.c.next_attempt_at, outbox_table.c.id)
            )
            return [
                OutgoingMail(
                    to=row.recipient,
                    template=row.template,
                    params=opened_params(row.params),
                    locale=row.locale,
                )
                for row in rows
            ]


@pytest.fixture(params=["in_memory", "sqlalchemy"])
def side(request: pytest.FixtureRequest) -> Side:
    if request.param == "in_memory":
        return InMemorySide()
    factory: async_sessionmaker[AsyncSession] = request.getfixturevalue("tx_session_factory")
    return SqlAlchemySide(factory)


def an_address() -> str:
    return unique_email("outbox").value


def a_mail(to: str | None = None, template: str = "verify_email", **params: str) -> OutgoingMail:
    return OutgoingMail(to=to or an_address(), template=template, params=params)


async def test_a_committed_mail_is_kept_with_its_recipient_template_params_and_locale(
    side: Side,
) -> None:
    mail = OutgoingMail(
        to=an_address(),
        template="password_reset",
        params={"link": "https://gatehouse.test/r?t=a&b=<c>", "name": "Zoë 🗝"},
        locale="de",
    )
    async with side.begin() as tx:
        await tx.outbox.enqueue(mail)
        await tx.commit()

    assert await side.kept(mail.to) == [mail]


async def test_a_mail_without_params_keeps_empty_params_and_the_default_locale(
    side: Side,
) -> None:
    mail = OutgoingMail(to=an_address(), template="password_reset_request")
    async with side.begin() as tx:
        await tx.outbox.enqueue(mail)
        await tx.commit()

    [kept] = await side.kept(mail.to)
    assert (kept.template, dict(kept.params), kept.locale) == ("password_reset_request", {}, "en")


async def test_a_rolled_back_mail_is_not_kept(side: Side) -> None:
    mail = a_mail()
    async with side.begin() as tx:
        await tx.outbox.enqueue(mail)
        await tx.rollback()

    assert await side.kept(mail.to) == []


async def test_a_mail_whose_transaction_ends_without_commit_is_not_kept(side: Side) -> None:
    mail = a_mail()
    async with side.begin() as tx:
        await tx.outbox.enqueue(mail)

    assert await side.kept(mail.to) == []


async def test_after_a_rollback_only_what_the_next_commit_carries_is_kept(side: Side) -> None:
    dropped, sent = a_mail(), a_mail()
    async with side.begin() as tx:
        await tx.outbox.enqueue(dropped)
        await tx.rollback()
        await tx.outbox.enqueue(sent)
        await tx.commit()

    assert await side.kept(dropped.to, sent.to) == [sent]


async def test_a_rolled_back_transaction_keeps_nothing_of_its_own_and_drops_nothing_committed(
    side: Side,
) -> None:
    first, dropped, third = a_mail(), a_mail(), a_mail()
    async with side.begin() as tx:
        await tx.outbox.enqueue(first)
        await tx.commit()
    async with side.begin() as tx:
        await tx.outbox.enqueue(dropped)
        await tx.rollback()
    async with side.begin() as tx:
        await tx.outbox.enqueue(third)
        await tx.commit()

    assert await side.kept(first.to, dropped.to, third.to) == [first, third]


async def test_each_commit_keeps_what_was_enqueued_since_the_one_before(side: Side) -> None:
    first, second = a_mail(), a_mail()
    async with side.begin() as tx:
        await tx.outbox.enqueue(first)
        await tx.commit()
        await tx.outbox.enqueue(second)
        await tx.commit()

    assert await side.kept(first.to, second.to) == [first, second]


async def test_mails_are_kept_in_the_order_they_were_enqueued(side: Side) -> None:
    to = an_address()
    mails = [a_mail(to, n=str(n)) for n in range(5)]
    async with side.begin() as tx:
        for mail in mails[:3]:
            await tx.outbox.enqueue(mail)
        await tx.commit()
    async with side.begin() as tx:
        for mail in mails[3:]:
            await tx.outbox.enqueue(mail)
        await tx.commit()

    assert [mail.params["n"] for mail in await side.kept(to)] == ["0", "1", "2", "3", "4"]


async def test_the_same_mail_enqueued_twice_is_kept_twice(side: Side) -> None:
    mail = a_mail()
    async with side.begin() as tx:
        await tx.outbox.enqueue(mail)
        await tx.outbox.enqueue(mail)
        await tx.commit()

    assert await side.kept(mail.to) == [mail, mail]


async def test_params_are_taken_when_the_mail_is_enqueued(side: Side) -> None:
    params = {"link": "https://gatehouse.test/first"}
    mail = OutgoingMail(to=an_address(), template="verify_email", params=params)
    async with side.begin() as tx:
        await tx.outbox.enqueue(mail)
        params["link"] = "https://gatehouse.test/changed-after-enqueue"
        await tx.commit()

    [kept] = await side.kept(mail.to)
    assert dict(kept.params) == {"link": "https://gatehouse.test/first"}
