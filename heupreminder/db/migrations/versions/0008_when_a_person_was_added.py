"""a person's row says when they were added

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

`people.added_at` bounds how far back a report may be dated: nothing is
logged for a person before they existed. Older rows get the earliest thing
recorded for them (a routine made, a pain report, a check-in); a person with
nothing recorded keeps NULL, which means "unknown" and only the report window
applies.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("added_at", sa.DateTime(), nullable=True))
    op.execute(sa.text("""
        UPDATE people SET added_at = (
            SELECT MIN(t) FROM (
                SELECT MIN(created_at) AS t FROM routines WHERE person_id = people.id
                UNION ALL SELECT MIN(at) FROM pain_reports WHERE person_id = people.id
                UNION ALL SELECT MIN(at) FROM checkins WHERE person_id = people.id
            ) AS earliest)
    """))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("added_at")
