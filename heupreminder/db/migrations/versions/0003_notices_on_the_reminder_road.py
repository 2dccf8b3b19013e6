"""notices on the reminder road: lease, retry time, deadline, per-channel results

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Notices left `sending` by an earlier version (claimed with no owner, so never
sent) are handed back as pending with `outcome_unknown`; their deadline is
twelve hours after they were written, so an old one is recorded as missed
rather than sent days late.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_status")
        batch_op.alter_column("person_id", existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column("error", new_column_name="reason", existing_type=sa.Text())
        batch_op.alter_column("sent_at", new_column_name="finished_at",
                              existing_type=sa.DateTime())
        batch_op.add_column(sa.Column("send_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("deadline", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("outcome_unknown", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("deliveries", sa.JSON(), nullable=True))

    notices = sa.table("notices", sa.column("status", sa.String), sa.column("created_at"),
                       sa.column("send_at"), sa.column("deadline"),
                       sa.column("outcome_unknown", sa.Boolean), sa.column("deliveries"))
    op.execute(notices.update().values(send_at=notices.c.created_at))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE notices SET deadline = created_at + interval '12 hours'")
    else:
        op.execute("UPDATE notices SET deadline = datetime(created_at, '+12 hours')")
    op.execute(notices.update().where(notices.c.status == "sending")
               .values(status="pending", outcome_unknown=True))
    op.execute(notices.update().values(deliveries=sa.text("'{}'")))

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.alter_column("send_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("deadline", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("deliveries", existing_type=sa.JSON(), nullable=False)
        batch_op.create_index("ix_notices_status_send_at", ["status", "send_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_status_send_at")
        batch_op.drop_column("deliveries")
        batch_op.drop_column("outcome_unknown")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("deadline")
        batch_op.drop_column("send_at")
        batch_op.alter_column("finished_at", new_column_name="sent_at",
                              existing_type=sa.DateTime())
        batch_op.alter_column("reason", new_column_name="error", existing_type=sa.Text())
        batch_op.alter_column("person_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index("ix_notices_status", ["status"], unique=False)
