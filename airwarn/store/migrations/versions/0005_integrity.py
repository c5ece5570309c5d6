"""The store protects itself: each logged event's seal, retried batches tied to their body,
room for secrets kept encrypted.

`event_log.hash` is the event's seal (hex HMAC-SHA256 chained to the one before, see
airwarn.store.integrity); events logged before this revision have none until the service,
which holds the key, seals them at its next start. `ingest_batch.body_sha256` is the hash of
the body first sent under an Idempotency-Key, so that the key reused for another body is
refused rather than answered with the first body's answer. Webhook secrets and push auth
secrets are kept encrypted (airwarn.store.secrets), longer than the plain text they were.

Revision ID: 0005_integrity
Revises: 0004_push
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_integrity"
down_revision = "0004_push"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event_log") as table:
        table.add_column(sa.Column("hash", sa.String(64)))
    with op.batch_alter_table("ingest_batch") as table:
        table.add_column(sa.Column("body_sha256", sa.String(64)))
    # SQLite does not hold a VARCHAR to its length, and rebuilding these tables there would
    # drop (by cascade) the deliveries and pushes that refer to them: PostgreSQL only
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "webhook_subscriber",
            "secret",
            type_=sa.Text,
            existing_type=sa.String(128),
            existing_nullable=False,
        )
        op.alter_column(
            "push_subscription",
            "auth",
            type_=sa.Text,
            existing_type=sa.String(40),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "push_subscription",
            "auth",
            type_=sa.String(40),
            existing_type=sa.Text,
            existing_nullable=False,
        )
        op.alter_column(
            "webhook_subscriber",
            "secret",
            type_=sa.String(128),
            existing_type=sa.Text,
            existing_nullable=False,
        )
    with op.batch_alter_table("ingest_batch") as table:
        table.drop_column("body_sha256")
    with op.batch_alter_table("event_log") as table:
        table.drop_column("hash")
