"""a letter issued and published, its final files, and what a download link opens

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "letter_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("review_year", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.String(length=40), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_url", sa.String(length=2000), nullable=True),
        sa.Column("published_by", sa.String(length=40), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["authority_id"], ["authorities.id"]),
        sa.ForeignKeyConstraint(["draft_id"], ["drafts.id"]),
        sa.ForeignKeyConstraint(["version_id"], ["draft_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id"),
    )
    op.create_index(
        "ix_letter_issues_authority_year", "letter_issues", ["authority_id", "review_year"]
    )
    op.create_table(
        "issued_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["letter_issues.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issue_id", "language"),
    )
    with op.batch_alter_table("file_links") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=10), nullable=False, server_default="draft")
        )
        batch.add_column(sa.Column("issued_file_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_file_links_issued_file", "issued_files", ["issued_file_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("file_links") as batch:
        batch.drop_constraint("fk_file_links_issued_file", type_="foreignkey")
        batch.drop_column("issued_file_id")
        batch.drop_column("kind")
    op.drop_table("issued_files")
    op.drop_index("ix_letter_issues_authority_year", table_name="letter_issues")
    op.drop_table("letter_issues")
