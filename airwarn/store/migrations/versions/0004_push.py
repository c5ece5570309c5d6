"""Web Push: browser subscriptions (by zone or by point) and what is owed to each.

Revision ID: 0004_push
Revises: 0003_webhooks
Create Date: 2026-11-23
"""

from __future__ import annotations

revision = "0004_push"
down_revision = "0003_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the push tables are added with the Web Push channel


def downgrade() -> None:
    pass
