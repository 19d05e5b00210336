"""a download link to the overview of a review year (no draft version)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("file_links") as batch:
        batch.alter_column("version_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("review_year", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Links to an overview name no version: they cannot outlive the column they need.
    op.execute("DELETE FROM file_links WHERE version_id IS NULL")
    with op.batch_alter_table("file_links") as batch:
        batch.drop_column("review_year")
        batch.alter_column("version_id", existing_type=sa.Integer(), nullable=False)
