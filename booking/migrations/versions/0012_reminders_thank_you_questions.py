"""reminders, thank-you emails, questions for the panel

Revision ID: 0012
Revises: 0007
Create Date: 2026-12-01 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reminder_on", sa.Boolean(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("reminder_hours", sa.Integer(), nullable=False, server_default="24")
        )
        batch_op.add_column(
            sa.Column("thank_you_on", sa.Boolean(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("thank_you_came", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("thank_you_missed", sa.Text(), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("questions_on", sa.Boolean(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("questions_close_hours", sa.Integer(), nullable=False, server_default="2")
        )
        batch_op.add_column(
            sa.Column(
                "chair_nonce",
                sqlmodel.sql.sqltypes.AutoString(length=64),
                nullable=False,
                server_default="",
            )
        )
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("show_full_name", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("starred", sa.Boolean(), nullable=False),
        sa.Column("theme", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id"),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_event_id"), ["event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_question_order_id"), ["order_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_order_id"))
        batch_op.drop_index(batch_op.f("ix_question_event_id"))
    op.drop_table("question")
    with op.batch_alter_table("event", schema=None) as batch_op:
        for name in (
            "chair_nonce",
            "questions_close_hours",
            "questions_on",
            "thank_you_missed",
            "thank_you_came",
            "thank_you_on",
            "reminder_hours",
            "reminder_on",
        ):
            batch_op.drop_column(name)
