"""The database engine: one per process, built in the app's lifespan and passed around."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Return ``url`` with the asyncpg driver, whatever driver (if any) it named."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """Return ``url`` as a plain postgresql:// URL, as asyncpg and libpq take it."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _statement_name() -> str:
    # Behind PgBouncer's transaction pooling, a server connection serves many clients, and
    # asyncpg's own names (__asyncpg_stmt_1__, counted per process) collide across processes.
    return f"__rapport_{uuid4().hex}__"


# The engine's execution option that says it talks to a PgBouncer in transaction pooling mode.
BEHIND_PGBOUNCER = "rapport_behind_pgbouncer"


async def outside_transaction(conn: AsyncConnection) -> AsyncConnection:
    """Run ``conn``'s next statements without BEGIN and ROLLBACK around them (AUTOCOMMIT): one
    round trip for a lone statement.

    Not behind PgBouncer: there SQLAlchemy prepares a statement and executes it in two
    exchanges, and transaction pooling may give each to a different server connection
    ("prepared statement does not exist") unless a transaction holds them together.
    """
    if conn.sync_engine.get_execution_options().get(BEHIND_PGBOUNCER):
        return conn
    return await conn.execution_options(isolation_level="AUTOCOMMIT")


def create_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, pgbouncer: bool = False
) -> AsyncEngine:
    """Build the async engine for a PostgreSQL URL (or a PgBouncer in transaction mode)."""
    connect_args: dict[str, Any] = {
        # Times that PostgreSQL renders itself (pulled rows) come out in UTC. PgBouncer keeps
        # both for each client (they are among the parameters it tracks).
        "server_settings": {"application_name": "rapport", "TimeZone": "UTC"},
    }
    if pgbouncer:
        # No statement outlives its transaction's server connection: asyncpg's own (the
        # compiled reads') are unnamed, SQLAlchemy's are uniquely named and not cached.
        # PgBouncer 1.21's max_prepared_statements would keep them; Debian 12 ships 1.18.
        connect_args.update(
            statement_cache_size=0,
            prepared_statement_cache_size=0,
            prepared_statement_name_func=_statement_name,
        )
    return create_async_engine(
        async_url(url),
        execution_options={BEHIND_PGBOUNCER: pgbouncer},
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No ping before every checkout (three round trips on asyncpg): a connection that died
        # fails one request and the pool replaces it; recycling keeps them from going stale.
        pool_recycle=1800,
        # Statement errors and echo name no parameter values: they hold push tokens, emails,
        # password hashes and users' notes, and logs are no place for those.
        hide_parameters=True,
        connect_args=connect_args,
    )
