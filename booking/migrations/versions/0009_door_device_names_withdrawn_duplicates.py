"""door device names, withdrawn duplicate admissions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "door_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("named_by", sa.Integer(), nullable=True),
        sa.Column("named_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["named_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("checkin_conflict", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_checkin_conflict_withdrawn_by_user", "user", ["withdrawn_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("checkin_conflict", schema=None) as batch_op:
        batch_op.drop_constraint("fk_checkin_conflict_withdrawn_by_user", type_="foreignkey")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("withdrawn_at")
    op.drop_table("door_device")
