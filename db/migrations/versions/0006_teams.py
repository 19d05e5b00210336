"""Teams: conversation references and members, download links, a platform on each row

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# A Teams conversation id (`a:1…`, `19:…@thread.tacv2;messageid=…`) runs past 100 characters.
WIDE = 255


def _platform() -> sa.Column:
    return sa.Column("platform", sa.String(10), nullable=False, server_default="slack")


def upgrade() -> None:
    with op.batch_alter_table("activities") as batch:
        batch.alter_column("channel_id", type_=sa.String(WIDE), existing_nullable=True)
        batch.add_column(_platform())
    with op.batch_alter_table("drafts") as batch:
        batch.alter_column("channel_id", type_=sa.String(WIDE), existing_nullable=False)
        batch.add_column(_platform())
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("channel", type_=sa.String(WIDE), existing_nullable=False)
        batch.alter_column("conversation", type_=sa.String(WIDE + 40), existing_nullable=True)
        batch.add_column(_platform())
    op.create_table(
        "teams_conversations",
        sa.Column("id", sa.String(WIDE), primary_key=True),
        sa.Column("service_url", sa.String(500), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("bot_id", sa.String(WIDE), nullable=False),
        sa.Column("conversation_type", sa.String(20), nullable=False),
        sa.Column("team_id", sa.String(WIDE), nullable=True),
        sa.Column("user_id", sa.String(40), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_teams_conversations_user_id", "teams_conversations", ["user_id"])
    op.create_table(
        "teams_members",
        sa.Column("user_id", sa.String(40), primary_key=True),
        sa.Column("teams_id", sa.String(WIDE), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("user_role", sa.String(20), nullable=True),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_teams_members_teams_id", "teams_members", ["teams_id"])
    op.create_table(
        "file_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("draft_versions.id"), nullable=False),
        sa.Column("created_by", sa.String(40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_file_links_version_id", "file_links", ["version_id"])


def downgrade() -> None:
    op.drop_index("ix_file_links_version_id", "file_links")
    op.drop_table("file_links")
    op.drop_index("ix_teams_members_teams_id", "teams_members")
    op.drop_table("teams_members")
    op.drop_index("ix_teams_conversations_user_id", "teams_conversations")
    op.drop_table("teams_conversations")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("platform")
        batch.alter_column("conversation", type_=sa.String(80), existing_nullable=True)
        batch.alter_column("channel", type_=sa.String(40), existing_nullable=False)
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("platform")
        batch.alter_column("channel_id", type_=sa.String(40), existing_nullable=False)
    with op.batch_alter_table("activities") as batch:
        batch.drop_column("platform")
        batch.alter_column("channel_id", type_=sa.String(40), existing_nullable=True)
