"""progress in a later year on an area for improvement

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("review_year", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["authority_id"], ["authorities.id"]),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_progress_authority_year", "progress", ["authority_id", "review_year"])
    op.create_index("ix_progress_finding", "progress", ["finding_id"])


def downgrade() -> None:
    op.drop_index("ix_progress_finding", table_name="progress")
    op.drop_index("ix_progress_authority_year", table_name="progress")
    op.drop_table("progress")
