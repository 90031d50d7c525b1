"""a running job is found by the message that runs it; a job says whether it reserved credits

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RUNNING_SQL = "state = 'running'"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credits_reserved", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE jobs SET credits_reserved = (SELECT -amount FROM credit_transactions t"
        " WHERE t.job_id = jobs.id AND t.kind = 'reserve')"
        " WHERE EXISTS (SELECT 1 FROM credit_transactions t"
        " WHERE t.job_id = jobs.id AND t.kind = 'reserve')"
    )
    op.create_index(
        "ix_jobs_running_dispatch",
        "jobs",
        ["dispatch_id"],
        sqlite_where=sa.text(RUNNING_SQL),
        postgresql_where=sa.text(RUNNING_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_running_dispatch", table_name="jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("credits_reserved")
