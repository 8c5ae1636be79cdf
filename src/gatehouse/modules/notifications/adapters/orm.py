"""Tables of the notifications module: the mail outbox and the webhook outbox. Both carry the
same delivery state (``delivery_state``), which ``adapters/queue.py`` claims and updates."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.schema import SchemaItem

from gatehouse.shared.persistence import metadata


def delivery_state(table_name: str) -> tuple[SchemaItem, ...]:
    """An outbox row's delivery columns, and the partial index its dispatchers claim by."""
    return (
        Column("status", Text, nullable=False, server_default=text("'pending'")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True)),
        Column("last_error", Text),
        Index(
            f"ix_{table_name}_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
    )


outbox_table = Table(
    "notifications_outbox",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("recipient", Text, nullable=False),
    Column("template", Text, nullable=False),
    # Sealed while the mail waits (a JSON string, ``adapters/outbox.py``), ``{}`` once done.
    Column("params", JSONB, nullable=False),
    Column("locale", Text, nullable=False),
    *delivery_state("notifications_outbox"),
)

OUTBOX_CHANNEL = "gatehouse_outbox"

# One row per event and endpoint; ``payload`` is the JSON body exactly as signed and sent (text,
# not JSONB, which would reorder it). The row id is the message's webhook-id.
webhook_outbox_table = Table(
    "notifications_webhook_outbox",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("endpoint_url", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("payload", Text, nullable=False),
    *delivery_state("notifications_webhook_outbox"),
)

WEBHOOK_CHANNEL = "gatehouse_webhooks"
