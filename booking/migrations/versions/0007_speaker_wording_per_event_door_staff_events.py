"""speaker wording per event, door staff limited to named events

Revision ID: 0007
Revises: 0009
Create Date: 2026-11-30 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("event_speaker", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "affiliation",
                sqlmodel.sql.sqltypes.AutoString(length=300),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("bio", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("added_at", sa.DateTime(), nullable=True))
    # Each event starts with the wording the speaker had everywhere until now.
    op.execute(
        "UPDATE event_speaker SET "
        "affiliation = (SELECT speaker.affiliation FROM speaker "
        "WHERE speaker.id = event_speaker.speaker_id), "
        "bio = (SELECT speaker.bio FROM speaker WHERE speaker.id = event_speaker.speaker_id)"
    )
    op.create_table(
        "user_event",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "event_id"),
    )


def downgrade() -> None:
    op.drop_table("user_event")
    with op.batch_alter_table("event_speaker", schema=None) as batch_op:
        batch_op.drop_column("added_at")
        batch_op.drop_column("bio")
        batch_op.drop_column("affiliation")
