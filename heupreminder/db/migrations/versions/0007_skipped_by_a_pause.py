"""an occurrence skipped by a pause names the pause

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

`occurrences.pause_id` says which pause kept a reminder from going out, so
reports and adherence read it as data instead of matching "paused: ..." in
the free-text reason. Older skipped rows get the person's pause that was
running when the row was finished.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.add_column(sa.Column("pause_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_occurrences_pause_id", "pauses", ["pause_id"], ["id"])
    op.execute(sa.text("""
        UPDATE occurrences SET pause_id = (
            SELECT MAX(p.id) FROM pauses p
            JOIN routines r ON r.person_id = p.person_id
            WHERE r.id = occurrences.routine_id
              AND (p.scope IS NULL OR p.scope = r.key)
              AND p.since <= occurrences.finished_at
              AND (p.ended_at IS NULL OR p.ended_at >= occurrences.finished_at))
        WHERE status = 'skipped' AND reason LIKE 'paused:%'
    """))


def downgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.drop_constraint("fk_occurrences_pause_id", type_="foreignkey")
        batch.drop_column("pause_id")
