"""A decision's and a CAP message's `kind` as long as the contract lets a category be.

`decision_log.kind` and `cap_message.kind` hold a threat kind or a category: an operator's
(up to 64 characters in Contract v1), an inbound CAP message's event (cut at 64) or a relayed
feed's (up to 32). They were 32 wide, so on PostgreSQL an action with a longer category was
refused by the store (DataError) on every attempt. 64 now, on PostgreSQL; SQLite does not hold
a VARCHAR to its length.

Revision ID: 0008_kind_width
Revises: 0007_relay
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_kind_width"
down_revision = "0007_relay"
branch_labels = None
depends_on = None

TABLES = ("decision_log", "cap_message")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        for table in TABLES:
            op.alter_column(table, "kind", type_=sa.String(64), existing_type=sa.String(32))


def downgrade() -> None:
    # a kind longer than 32 characters does not fit the older width, and cutting it would
    # break the log's seal (each decision's hash covers its kind): refuse instead
    if op.get_bind().dialect.name == "sqlite":
        return
    for table in TABLES:
        rows = sa.table(table, sa.column("kind"))
        longer = op.get_bind().execute(
            sa.select(sa.func.count()).where(sa.func.length(rows.c.kind) > 32)
        )
        if longer.scalar():
            raise RuntimeError(
                f"{table} holds kinds longer than 32 characters, which the older schema cannot "
                "hold: stay at 0008_kind_width"
            )
        op.alter_column(table, "kind", type_=sa.String(32), existing_type=sa.String(64))
