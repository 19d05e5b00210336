"""outbox columns on deliveries, idempotency keys, one approval per reviewer and version

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

APPROVAL = "decision = 'approve'"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("action", sa.String(20), nullable=False, server_default="post"))
        batch.add_column(sa.Column("conversation", sa.String(80), nullable=True))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_deliveries_conversation", ["conversation", "sent_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_seen_at", "idempotency_keys", ["seen_at"])
    # Approvals recorded twice before this index existed: keep the first of each.
    op.execute(
        "DELETE FROM reviews WHERE decision = 'approve' AND id NOT IN ("
        " SELECT MIN(id) FROM reviews WHERE decision = 'approve' GROUP BY version_id, user_id)"
    )
    op.create_index(
        "ux_reviews_one_approval",
        "reviews",
        ["version_id", "user_id"],
        unique=True,
        sqlite_where=sa.text(APPROVAL),
        postgresql_where=sa.text(APPROVAL),
    )


def downgrade() -> None:
    op.drop_index("ux_reviews_one_approval", table_name="reviews")
    op.drop_index("ix_idempotency_keys_seen_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index("ix_deliveries_conversation")
        batch.drop_column("next_attempt_at")
        batch.drop_column("conversation")
        batch.drop_column("action")
