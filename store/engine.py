"""The database engine: one per process, built in the app's lifespan and passed around."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Return ``url`` with the asyncpg driver, whatever driver (if any) it named."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """Return ``url`` as a plain postgresql:// URL, as asyncpg and libpq take it."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """Build the async engine for a PostgreSQL URL."""
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        # No ping before every checkout (three round trips on asyncpg): a connection that died
        # fails one request and the pool replaces it; recycling keeps them from going stale.
        pool_recycle=1800,
        # Statement errors and echo name no parameter values: they hold push tokens, emails,
        # password hashes and users' notes, and logs are no place for those.
        hide_parameters=True,
        # Times that PostgreSQL renders itself (pulled rows) come out in UTC.
        connect_args={"server_settings": {"application_name": "rapport", "TimeZone": "UTC"}},
    )
