"""Apply Alembic migrations from code (the CLI and the tests share this)."""

from __future__ import annotations

from pathlib import Path

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


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Migrate the database behind ``engine`` down to ``revision``."""
    async with engine.begin() as conn:
        await conn.run_sync(
            lambda sync_conn: command.downgrade(alembic_config(sync_conn), revision)
        )
