"""tenants get numeric merchant ids (agent API, seed 001)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merchant_id", sa.Integer(), nullable=True))
    backfill_merchant_ids()
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.alter_column("merchant_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index("ix_tenants_merchant_id", ["merchant_id"], unique=True)


def backfill_merchant_ids() -> None:
    """Existing tenants are numbered 1, 2, ... in the order they were created."""
    connection = op.get_bind()
    tenants = sa.table(
        "tenants", sa.column("id"), sa.column("merchant_id"), sa.column("created_at")
    )
    ids = connection.execute(sa.select(tenants.c.id).order_by(tenants.c.created_at, tenants.c.id))
    for number, (tenant_id,) in enumerate(ids.all(), start=1):
        connection.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(merchant_id=number)
        )


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index("ix_tenants_merchant_id")
        batch_op.drop_column("merchant_id")
