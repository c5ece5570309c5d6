"""Trust: revocations every process sees at once, trusted CAP senders, and held inbound CAP.

`token_generation` is one counter that every revocation bumps in its own transaction; each
serving process reads it a few times a second and forgets the tokens it remembered when it
moves. `trusted_sender` holds, per CAP sender, the certificates whose signatures make its
messages trusted (a sender may have several, for a key rollover). `cap_sender` binds API
tokens (by name) to the CAP senders they may speak as. `inbound_cap` gains what was decided
about each message: how far it was trusted, its state (applied, kept, held for an operator,
rejected, cancelled), who posted it and who decided.

Revision ID: 0006
Revises: 0004_push
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_trust"
down_revision = "0005_integrity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "token_generation",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.execute("INSERT INTO token_generation (id, generation) VALUES (1, 0)")
    op.create_table(
        "trusted_sender",
        sa.Column("sender", sa.String(256), primary_key=True),
        sa.Column("fingerprint", sa.String(80), primary_key=True),  # sha256:HEX of the DER
        sa.Column("certificate", sa.Text, nullable=False),  # PEM
        sa.Column("subject", sa.String(512), nullable=False),
        sa.Column("not_after_ms", sa.BigInteger, nullable=False),
        sa.Column("added_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "cap_sender",
        sa.Column("token_name", sa.String(128), primary_key=True),
        sa.Column("sender", sa.String(256), primary_key=True),
        sa.Column("added_ms", sa.BigInteger, nullable=False),
    )
    for column in (
        sa.Column("state", sa.String(16)),  # null: taken before trust existed
        sa.Column("trust", sa.String(16)),
        sa.Column("why", sa.Text),
        sa.Column("posted_by", sa.String(128)),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_ms", sa.BigInteger),
    ):
        op.add_column("inbound_cap", column)
    op.create_index("ix_inbound_cap_state", "inbound_cap", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbound_cap_state", "inbound_cap")
    with op.batch_alter_table("inbound_cap") as batch:
        for name in ("decided_ms", "decided_by", "posted_by", "why", "trust", "state"):
            batch.drop_column(name)
    op.drop_table("cap_sender")
    op.drop_table("trusted_sender")
    op.drop_table("token_generation")
