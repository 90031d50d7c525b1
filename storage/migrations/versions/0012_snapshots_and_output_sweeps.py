"""a job's delivery keeps the job as its event recorded it; a job's run prefixes swept once

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UNSWEPT_SQL = "finished_at IS NOT NULL AND outputs_swept_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("snapshot", sa.JSON(), nullable=True))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outputs_swept_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_jobs_unswept",
        "jobs",
        ["finished_at"],
        sqlite_where=sa.text(UNSWEPT_SQL),
        postgresql_where=sa.text(UNSWEPT_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_unswept", table_name="jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("outputs_swept_at")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_column("snapshot")
