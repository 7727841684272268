"""Apply Alembic migrations from code (the CLI and the tests share this)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(connection: Connection | None = None) -> Config:
    """Return the Alembic config from pyproject.toml, bound to ``connection`` when given."""
    config = Config(toml_file=str(ROOT / "pyproject.toml"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# Any fixed number: processes starting together take turns instead of racing to migrate.
MIGRATION_LOCK = 7_228_437_001


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``, one process at a time."""
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            await conn.run_sync(
                lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision)
            )
            await conn.commit()
        finally:
            await conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            await conn.commit()


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database behind ``engine`` down to ``revision``."""
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync_conn: command.downgrade(alembic_config(sync_conn), revision)
        )
