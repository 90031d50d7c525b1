"""batches count their finished tasks; jobs keep the client's task id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("dialect", sa.String(length=20), nullable=False, server_default="native")
        )
        batch_op.add_column(sa.Column("finished", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("succeeded", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_ref", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("client_ref")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_column("succeeded")
        batch_op.drop_column("finished")
        batch_op.drop_column("dialect")
