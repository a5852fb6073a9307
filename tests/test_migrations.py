"""The migrations build exactly the schema the models describe, and go down and up again."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import booking.models  # noqa: F401


def test_models_and_migrations_agree(migrated):
    with migrated.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), SQLModel.metadata) == []


def test_downgrade_then_upgrade(migrated):
    cfg = migrated.alembic_config()
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")
    assert migrated.is_up_to_date()
