"""history links of their own

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

`history_links` holds each person's read-only history link nonce (rotated or
revoked with `heupreminder token PERSON --history --rotate/--revoke`); the
history page no longer takes the write-capable API token in its URL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_links",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("person_id"),
    )


def downgrade() -> None:
    op.drop_table("history_links")
