"""Web Push: browser subscriptions (by zone or by point) and what is owed to each.

`push_subscription` is what a browser gave (its endpoint and keys) and what it asked for: a
list of zones, or a point (kept with the zone it fell in when it subscribed; never re-resolved).
`push_subscription_zone` is the same choice as rows, so that a decision finds its subscribers by
index. `push_outbox` holds one row per push owed (sent, failed or expired rows stay a day, for
looking into), so a process that dies loses none; `push_cursor` is the newest decision already
turned into outbox rows, where the next writer carries on.

Revision ID: 0004_push
Revises: 0003_webhooks
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_push"
down_revision = "0003_webhooks"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER only


def upgrade() -> None:
    op.create_table(
        "push_subscription",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(2048), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(100), nullable=False),  # base64url, as the browser gave
        sa.Column("auth", sa.String(40), nullable=False),
        sa.Column("zones", sa.Text),  # JSON list of zone ids as asked; null when by point
        sa.Column("lat", sa.Float),  # the point asked for; null when by zones
        sa.Column("lon", sa.Float),
        sa.Column("lang", sa.String(35), nullable=False),
        sa.Column("drills", sa.Boolean, nullable=False, server_default=sa.false()),
        # the newest decision when it subscribed: only later ones are pushed to it
        sa.Column("from_seq", sa.BigInteger, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "push_subscription_zone",
        sa.Column("zone", sa.String(128), primary_key=True),
        sa.Column(
            "subscription_id",
            ID,
            sa.ForeignKey("push_subscription.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_push_subscription_zone_sub", "push_subscription_zone", ["subscription_id"])
    op.create_table(
        "push_outbox",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "subscription_id",
            ID,
            sa.ForeignKey("push_subscription.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(64), nullable=False),  # decision:<seq>
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),  # JSON, encrypted per send
        sa.Column("urgency", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("born_ms", sa.BigInteger, nullable=False),  # when the warning was received
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_ms", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),  # owed | sent | failed | expired
        sa.Column("done_ms", sa.BigInteger),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("subscription_id", "key", name="push_outbox_once"),
    )
    op.create_index("ix_push_outbox_due", "push_outbox", ["state", "next_ms"])
    op.create_table(
        "push_cursor",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("push_cursor")
    op.drop_index("ix_push_outbox_due", "push_outbox")
    op.drop_table("push_outbox")
    op.drop_index("ix_push_subscription_zone_sub", "push_subscription_zone")
    op.drop_table("push_subscription_zone")
    op.drop_table("push_subscription")
