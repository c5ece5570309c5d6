"""The history tables as SQLAlchemy Core objects, for queries and inserts.

The schema itself is made by the migrations (`airwarn/store/migrations/versions/0001_history.py`);
these mirror it, and a test checks that they agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

history_import = sa.Table(
    "history_import",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False, unique=True),
    sa.Column("file_name", sa.Text, nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("imported_at", sa.String(32), nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("alerts", sa.Integer, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
)

history_zone = sa.Table(
    "history_zone",
    metadata,
    sa.Column("zone_set", sa.String(32), primary_key=True),
    sa.Column("zone_id", sa.String(64), primary_key=True),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("region", sa.Text),
    sa.Column("area_km2", sa.Float, nullable=False),
    sa.Column("shelter_s", sa.Integer),
    sa.Column("geometry", sa.Text, nullable=False),
)

history_alert = sa.Table(
    "history_alert",
    metadata,
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

history_unmatched = sa.Table(
    "history_unmatched",
    metadata,
    sa.Column(
        "import_id",
        sa.Integer,
        sa.ForeignKey("history_import.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("mentions", sa.Integer, nullable=False),
    sa.Column("first_line", sa.Integer, nullable=False),
    sa.Column("candidates", sa.Text, nullable=False),
)
