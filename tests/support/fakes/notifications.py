"""Fakes for the notifications module's public ports.

Contract: tests/contract/test_mail_outbox.py.
"""

from __future__ import annotations

import dataclasses

from gatehouse.modules.notifications.application.public import MailOutbox, OutgoingMail


class InMemoryMailOutbox(MailOutbox):
    """The outbox of one transaction, as ``SqlAlchemyMailOutbox`` is the outbox of one session.

    ``mails`` is the outbox table: what a dispatcher would send, in the order it was enqueued.
    Several transactions' outboxes may share it. A mail enqueued here joins ``mails`` only when
    the owner of the transaction calls ``commit()``; ``rollback()`` drops it. The owner (a fake
    unit of work) commits and rolls back the outbox along with its own state.
    """

    def __init__(self, mails: list[OutgoingMail] | None = None) -> None:
        self.mails: list[OutgoingMail] = mails if mails is not None else []
        self._pending: list[OutgoingMail] = []

    async def enqueue(self, mail: OutgoingMail) -> None:
        # The real outbox writes the parameters out at once: a caller's later change to its
        # dict does not reach the queued mail.
        self._pending.append(dataclasses.replace(mail, params=dict(mail.params)))

    def commit(self) -> None:
        self.mails.extend(self._pending)
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()
