"""the Welsh version of approved letters: translations, Welsh texts and their reviews

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "translations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pack_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pack_file_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["version_id"], ["draft_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version_id"),
    )
    op.create_table(
        "welsh_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("translation_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("paragraphs", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("file_id", sa.String(length=40), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("message_ts", sa.String(length=40), nullable=False),
        sa.Column("uploaded_by", sa.String(length=40), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["translation_id"], ["translations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("translation_id", "message_ts"),
        sa.UniqueConstraint("translation_id", "revision"),
    )
    op.create_table(
        "welsh_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("welsh_text_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "approve",
                "request_changes",
                name="welsh_decision",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["welsh_text_id"], ["welsh_texts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("welsh_reviews", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_welsh_reviews_welsh_text_id"), ["welsh_text_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("welsh_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_welsh_reviews_welsh_text_id"))
    op.drop_table("welsh_reviews")
    op.drop_table("welsh_texts")
    op.drop_table("translations")
