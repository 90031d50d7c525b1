"""webhook bodies are built per attempt: each attempt keeps the body it sent

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 04:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE webhook_deliveries SET payload = '' WHERE payload IS NULL")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), nullable=False)
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_column("payload")
