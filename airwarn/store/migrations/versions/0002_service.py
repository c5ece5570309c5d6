"""The service: the append-only event log, the decision outbox, CAP messages, operator
actions, API tokens and the audit log.

Sequence numbers are assigned by the one engine that writes (`event_log.seq`,
`decision_log.seq` is the engine's own decision seq), so a replay of the log gives the same
numbers and a receiver can de-duplicate by them. Times are milliseconds since the Unix epoch.

Revision ID: 0002_service
Revises: 0001_history
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_service"
down_revision = "0001_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_meta",  # what the log was written with: the zone set, the engine settings
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "event_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),  # the event as canonical Contract v1 JSON
    )
    op.create_table(
        "decision_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_seq", sa.BigInteger, nullable=False),
        sa.Column("t_ms", sa.BigInteger, nullable=False),
        sa.Column("zone", sa.String(128), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32)),
        sa.Column("body", sa.Text, nullable=False),  # the decision as one Contract v1 line
    )
    op.create_index("decision_log_zone", "decision_log", ["zone", "seq"])
    op.create_index("decision_log_t", "decision_log", ["t_ms"])
    op.create_table(
        "ingest_batch",  # idempotency: a retried batch gets the first answer, applied once
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
    )
    op.create_table(
        "cap_message",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("identifier", sa.String(256), nullable=False, unique=True),
        sa.Column("event_seq", sa.BigInteger, nullable=False),
        sa.Column("sent_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32)),
        sa.Column("zones", sa.Text, nullable=False),  # JSON list of zone ids
        sa.Column("refs", sa.Text, nullable=False),  # JSON list of identifiers
        # what the message says, as JSON (airwarn.cap.chain.warning_record); the CAP XML
        # is rendered and signed from it when served, the same bytes every time
        sa.Column("warning", sa.Text, nullable=False),
    )
    op.create_table(
        "operator_action",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # pending | sent | rejected
        sa.Column("request", sa.Text, nullable=False),  # JSON as asked
        sa.Column("zones", sa.Text, nullable=False),  # JSON list: what it resolves to
        sa.Column("check", sa.Text, nullable=False),  # JSON: blast-radius figures
        sa.Column("event_seq", sa.BigInteger),
        sa.Column("confirmed_by", sa.String(128)),
    )
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_ms", sa.BigInteger),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("t_ms", sa.BigInteger, nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.Text, nullable=False),  # JSON
    )
    op.create_table(
        "inbound_cap",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(256), nullable=False),
        sa.Column("identifier", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("msg_type", sa.String(16), nullable=False),
        sa.Column("zones", sa.Text, nullable=False),
        sa.Column("event_seq", sa.BigInteger),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("sender", "identifier", name="inbound_cap_once"),
    )


def downgrade() -> None:
    for table in (
        "inbound_cap",
        "audit_log",
        "api_token",
        "operator_action",
        "cap_message",
        "ingest_batch",
        "decision_log",
        "event_log",
        "service_meta",
    ):
        op.drop_table(table)
