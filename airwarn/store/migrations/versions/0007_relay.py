"""Relayed feeds: each decision and CAP message says which lane it belongs to.

`decision_log.source` and `cap_message.source` name the relayed feed a decision or message
comes from (`alerts.in.ua`, `oref.org.il`, a CAP feed, another airwarn), or are null for this
server's own, so that whatever reads the log per zone (the MQTT channel's retained state, the
compatibility feeds, the CAP message chains) keeps each source's lane apart from the zone's
own level.

Revision ID: 0007_relay
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_relay"
down_revision = "0006_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decision_log", sa.Column("source", sa.String(64)))
    op.add_column("cap_message", sa.Column("source", sa.String(64)))


def downgrade() -> None:
    for table in ("cap_message", "decision_log"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("source")
