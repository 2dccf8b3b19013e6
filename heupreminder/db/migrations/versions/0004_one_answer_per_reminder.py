"""one answer per reminder, one report per pain form

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

A reminder answered twice (Done posted twice, or Done then Skip) keeps only its
latest check-in, then a unique constraint keeps it that way. Pain reports get
`submission`, the pain form's one-time value, unique per person, so a form
posted twice is one report.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    checkins = sa.table("checkins", sa.column("id", sa.Integer),
                        sa.column("occurrence_id", sa.Integer))
    latest = sa.select(sa.func.max(checkins.c.id)).where(
        checkins.c.occurrence_id.is_not(None)).group_by(checkins.c.occurrence_id)
    op.execute(checkins.delete().where(checkins.c.occurrence_id.is_not(None),
                                       checkins.c.id.not_in(latest.scalar_subquery())))
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_checkin_occurrence", ["occurrence_id"])
    with op.batch_alter_table("pain_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint("uq_pain_report_submission",
                                          ["person_id", "submission"])


def downgrade() -> None:
    with op.batch_alter_table("pain_reports", schema=None) as batch_op:
        batch_op.drop_constraint("uq_pain_report_submission", type_="unique")
        batch_op.drop_column("submission")
    with op.batch_alter_table("checkins", schema=None) as batch_op:
        batch_op.drop_constraint("uq_checkin_occurrence", type_="unique")
