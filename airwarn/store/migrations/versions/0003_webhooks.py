"""Webhooks: subscribers, what is owed to each (the outbox) and what could not be delivered.

`webhook_subscriber.seen_seq` is the newest decision the outbox has considered for that
subscriber; it moves in the same transaction as the deliveries it caused, so a restarted
engine knows exactly which decisions of the log it still owes (see airwarn/channels/webhooks.py).
A delivery's `key` is stable (`seq-<first decision seq>`), so a step is queued once per
subscriber; receivers see it as the `Webhook-Id` header.

Revision ID: 0003_webhooks
Revises: 0002_service
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_webhooks"
down_revision = "0002_service"
branch_labels = None
depends_on = None

# SQLite numbers rows by itself only for a column declared exactly INTEGER PRIMARY KEY
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriber",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),  # kept to sign; shown once
        sa.Column("zones", sa.Text),  # JSON list of zone ids; NULL: every zone
        sa.Column("statuses", sa.Text, nullable=False),  # JSON list: actual, exercise, test
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("deleted_ms", sa.BigInteger),
        sa.Column("seen_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "subscriber_id",
            sa.Integer,
            sa.ForeignKey("webhook_subscriber.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("first_seq", sa.BigInteger, nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),  # the exact body that is signed and sent
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_ms", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # pending | delivered | dead
        sa.Column("last_error", sa.Text),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("done_ms", sa.BigInteger),  # when it was delivered or given up
        sa.UniqueConstraint("subscriber_id", "key", name="webhook_delivery_once"),
    )
    # the sender's question, per subscriber: the oldest delivery still pending
    op.create_index("webhook_delivery_queue", "webhook_delivery", ["subscriber_id", "state", "id"])


def downgrade() -> None:
    op.drop_index("webhook_delivery_queue", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_subscriber")
