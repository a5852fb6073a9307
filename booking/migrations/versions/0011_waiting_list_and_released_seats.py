"""waiting list, offers held as orders, seats released by their holders

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-01 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waitlist_offer_hours", sa.Integer(), nullable=False, server_default="24")
        )
        batch_op.add_column(
            sa.Column("waitlist_paused", sa.Boolean(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waitlist_entry_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_orders_waitlist_entry_id", ["waitlist_entry_id"], unique=False)
    op.create_table(
        "waitlist_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("ticket_type_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("joined_at", sa.DateTime(), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=True),
        sa.Column("offer_order_id", sa.Integer(), nullable=True),
        sa.Column("offers", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["offer_order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["ticket_type_id"], ["ticket_type.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "email"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_waitlist_entry_event_id", "waitlist_entry", ["event_id"], unique=False)
    op.create_index("ix_waitlist_entry_status", "waitlist_entry", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_waitlist_entry_status", table_name="waitlist_entry")
    op.drop_index("ix_waitlist_entry_event_id", table_name="waitlist_entry")
    op.drop_table("waitlist_entry")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_waitlist_entry_id")
        batch_op.drop_column("waitlist_entry_id")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("waitlist_paused")
        batch_op.drop_column("waitlist_offer_hours")
