"""Webhooks: subscribers, what is owed to each (the outbox) and what could not be delivered.

Revision ID: 0003_webhooks
Revises: 0002_service
Create Date: 2026-11-23
"""

from __future__ import annotations

revision = "0003_webhooks"
down_revision = "0002_service"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # the webhook tables are added with the webhook channel


def downgrade() -> None:
    pass
