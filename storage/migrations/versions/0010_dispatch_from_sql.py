"""dispatch from SQL: job priorities, release times, the backlog's indexes, tenant policies

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BACKLOG_SQL = "state = 'queued' AND released_at IS NULL"
IN_FLIGHT_SQL = "state IN ('queued', 'running') AND released_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="5"))
        batch_op.add_column(sa.Column("released_at", sa.DateTime(), nullable=True))
    # Jobs queued or running before the dispatcher existed were sent already: in flight.
    op.execute(
        "UPDATE jobs SET released_at = COALESCE(enqueued_at, created_at) "
        "WHERE state IN ('queued', 'running')"
    )
    op.create_index(
        "ix_jobs_backlog",
        "jobs",
        ["queue", "tenant_id", sa.text("priority DESC"), "created_at", "id"],
        sqlite_where=sa.text(BACKLOG_SQL),
        postgresql_where=sa.text(BACKLOG_SQL),
    )
    op.create_index(
        "ix_jobs_in_flight",
        "jobs",
        ["queue", "tenant_id"],
        sqlite_where=sa.text(IN_FLIGHT_SQL),
        postgresql_where=sa.text(IN_FLIGHT_SQL),
    )
    op.create_table(
        "dispatch_policies",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("queue", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("max_in_flight", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "queue"),
    )


def downgrade() -> None:
    op.drop_table("dispatch_policies")
    op.drop_index("ix_jobs_in_flight", table_name="jobs")
    op.drop_index("ix_jobs_backlog", table_name="jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("released_at")
        batch_op.drop_column("priority")
