"""calendar feeds: tokens, and each activity's sequence and revision time

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("platform", sa.String(length=10), server_default="slack", nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("revised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("activity_inspectors", schema=None) as batch_op:
        batch_op.create_index("ix_activity_inspectors_user", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("activity_inspectors", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_inspectors_user")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("revised_at")
        batch_op.drop_column("sequence")
    op.drop_table("calendar_feeds")
