"""Notifications domain: an outbox message and its delivery state machine, which every outbox
(mail, webhooks) shares: pending until sent, retried with backoff, dead after the last attempt."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MAX_ATTEMPTS = 10
BASE_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class RenderedMail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str


@dataclass(frozen=True, slots=True)
class SealedParams:
    """A mail's parameters as the outbox keeps them while the mail waits: encrypted, for they
    hold one-time links and codes. The dispatcher opens them just before it renders the mail."""

    text: str

    def __repr__(self) -> str:
        return "SealedParams(...)"


@dataclass(kw_only=True)
class OutboxMessage:
    id: uuid.UUID
    to: str
    template: str
    # Sealed; a plain dict only in a row written before the outbox sealed them (ADR 0027).
    params: dict[str, str] | SealedParams
    locale: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How an outbox retries: exponential backoff with full jitter from ``base`` (a random delay
    in [base, base * 2**(attempts-1)], capped at ``cap``), dead after ``max_attempts``."""

    max_attempts: int = MAX_ATTEMPTS
    base: timedelta = BASE_BACKOFF
    cap: timedelta = MAX_BACKOFF

    def delay(self, attempts: int, rng: random.Random | None = None) -> timedelta:
        ceiling = min(self.cap, self.base * (1 << max(0, min(attempts - 1, 20))))
        fraction = (rng or random.SystemRandom()).random()
        return self.base + (ceiling - self.base) * fraction

    def retry_at(self, attempts: int, now: datetime, *, permanent: bool) -> datetime | None:
        """When to try again after the ``attempts``-th attempt failed at ``now``; ``None`` when
        the failure is permanent or that was the last attempt (the message is dead-lettered)."""
        if permanent or attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts)


MAIL_RETRIES = RetryPolicy()  # ten attempts within about 45 minutes at most


def next_attempt_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The mail outbox's delay before the next attempt."""
    return MAIL_RETRIES.delay(attempts, rng)
