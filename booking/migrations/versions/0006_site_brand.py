"""the publisher's brand

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_brand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("logo", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("brand_colour", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("link_colour", sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
        sa.Column("privacy_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("terms_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("contact_url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("legal_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("postal_address", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("site_brand")
