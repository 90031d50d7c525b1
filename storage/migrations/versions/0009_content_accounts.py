"""content platform accounts (seed 003): users, refresh tokens, creations, membership

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "content_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("referral_code", sa.String(length=16), nullable=False),
        sa.Column("membership_type", sa.String(length=20), nullable=True),
        sa.Column("membership_end_date", sa.DateTime(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", name="uq_content_users_tenant_id"),
        sa.UniqueConstraint("username", name="uq_content_users_username"),
        sa.UniqueConstraint("email", name="uq_content_users_email"),
        sa.UniqueConstraint("referral_code", name="uq_content_users_referral_code"),
    )

    op.create_table(
        "content_creations",
        sa.Column("job_id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("job_id"),
    )
    with op.batch_alter_table("content_creations", schema=None) as batch_op:
        batch_op.create_index("ix_content_creations_tenant_id", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("content_creations")
    op.drop_table("content_users")
