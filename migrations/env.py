"""Alembic environment: async engine, target metadata = store's tables.

Called with ``config.attributes["connection"]`` set (tests, ``rapport migrate``), it runs on
that connection; otherwise it connects to RAPPORT_DATABASE_URL itself.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from store.engine import create_engine
from store.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = os.environ.get("RAPPORT_DATABASE_URL")
    if not url:
        raise RuntimeError("Set RAPPORT_DATABASE_URL, or run `rapport migrate`, which finds it.")
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


connection = config.attributes.get("connection")
if context.is_offline_mode():
    raise RuntimeError("Rapport's migrations run online only.")
elif connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
