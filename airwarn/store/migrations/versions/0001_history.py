"""Alert history: imports of real alert histories, the zones they attach to, their alerts, and
the names that matched no zone.

Times are whole seconds since the Unix epoch, UTC (`started_s`, `ended_s`), the same on SQLite
and PostgreSQL and cheap to compute on; `utc_offset_s` is the local offset at the start, so that
"at night" and "per month" use local time without a time-zone database at query time.

Revision ID: 0001_history
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_history"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_import",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        # one import per source kind: a newer file of the same kind replaces the older one
        sa.Column("source", sa.String(64), nullable=False, unique=True),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        # file hash + alias table hash + importer version: equal means a re-import is a no-op
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.String(32), nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),  # JSON: match rates, counts, notes
    )
    op.create_table(
        "history_zone",
        sa.Column("zone_set", sa.String(32), primary_key=True),
        sa.Column("zone_id", sa.String(64), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("region", sa.Text),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("shelter_s", sa.Integer),  # None where the layer has none (Ukraine)
        sa.Column("geometry", sa.Text, nullable=False),  # GeoJSON, simplified for maps
    )
    op.create_table(
        "history_alert",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "import_id",
            sa.Integer,
            sa.ForeignKey("history_import.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("event_key", sa.String(64), nullable=False),
        sa.Column("place", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("match", sa.String(16), nullable=False),
        sa.Column("zone_set", sa.String(32), nullable=False),
        sa.Column("zone_id", sa.String(64)),
        sa.Column("region", sa.Text),
        sa.Column("category", sa.String(32)),
        sa.Column("started_s", sa.BigInteger, nullable=False),
        sa.Column("ended_s", sa.BigInteger),
        sa.Column("utc_offset_s", sa.Integer, nullable=False),
        sa.Column("flags", sa.String(128), nullable=False, server_default=""),
    )
    op.create_index("ix_history_alert_source_start", "history_alert", ["source", "started_s"])
    op.create_index(
        "ix_history_alert_source_zone", "history_alert", ["source", "zone_id", "started_s"]
    )
    op.create_index("ix_history_alert_import", "history_alert", ["import_id"])
    op.create_table(
        "history_unmatched",
        sa.Column(
            "import_id",
            sa.Integer,
            sa.ForeignKey("history_import.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("mentions", sa.Integer, nullable=False),
        sa.Column("first_line", sa.Integer, nullable=False),
        sa.Column("candidates", sa.Text, nullable=False),  # JSON list of closest names
    )


def downgrade() -> None:
    op.drop_table("history_unmatched")
    op.drop_index("ix_history_alert_import", "history_alert")
    op.drop_index("ix_history_alert_source_zone", "history_alert")
    op.drop_index("ix_history_alert_source_start", "history_alert")
    op.drop_table("history_alert")
    op.drop_table("history_zone")
    op.drop_table("history_import")
