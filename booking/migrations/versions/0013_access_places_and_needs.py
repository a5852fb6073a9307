"""access places (wheelchair spaces, companion seats), buyers' access needs, venue access facts

Revision ID: 0013
Revises: 0007
Create Date: 2026-12-01 00:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, length: int) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False, server_default=""
    )


def _flag(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Boolean(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.add_column(_flag("step_free"))
        batch_op.add_column(_flag("accessible_toilet"))
        batch_op.add_column(_flag("hearing_loop"))
        batch_op.add_column(_text("wheelchair_note", 300))
        batch_op.add_column(_text("access_note", 1000))
    with op.batch_alter_table("ticket_type", schema=None) as batch_op:
        batch_op.add_column(_text("access_place", 20))
        batch_op.add_column(_flag("companion_free"))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(_text("access_needs", 200))
        batch_op.add_column(_text("access_note", 200))


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("access_note")
        batch_op.drop_column("access_needs")
    with op.batch_alter_table("ticket_type", schema=None) as batch_op:
        batch_op.drop_column("companion_free")
        batch_op.drop_column("access_place")
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_column("access_note")
        batch_op.drop_column("wheelchair_note")
        batch_op.drop_column("hearing_loop")
        batch_op.drop_column("accessible_toilet")
        batch_op.drop_column("step_free")
