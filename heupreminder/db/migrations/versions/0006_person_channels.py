"""people's own channels, encrypted

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

`person_channels` keeps a person's channel URLs in the database (one row per
person and channel name) for installations with many people: the URL is
sealed with HEUPREMINDER_CHANNEL_KEY (Fernet), only its masked form is clear.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_channels",
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("masked_url", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("person_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("person_channels")
