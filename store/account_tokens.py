"""Single-use tokens sent by email, kept as SHA-256 digests: password resets, email changes."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

t = tables.account_tokens
c = t.c
RESET = "reset"
EMAIL = "email"


async def insert_token(
    conn: AsyncConnection,
    *,
    token_hash: bytes,
    user_id: UUID,
    purpose: str,
    now: datetime,
    expires_at: datetime,
    new_email: str | None = None,
) -> None:
    await conn.execute(
        sa.insert(t).values(
            token_hash=token_hash,
            user_id=user_id,
            purpose=purpose,
            new_email=new_email,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def spend_token(
    conn: AsyncConnection, *, token_hash: bytes, purpose: str, now: datetime
) -> sa.RowMapping | None:
    """Mark a live token used and return it; None if unknown, used, expired or of another use.

    One UPDATE: two requests racing with the same token cannot both spend it.
    """
    update = (
        sa.update(t)
        .where(
            c.token_hash == token_hash,
            c.purpose == purpose,
            c.used_at.is_(None),
            c.expires_at > now,
        )
        .values(used_at=now)
        .returning(c.user_id, c.new_email)
    )
    return (await conn.execute(update)).mappings().first()


async def drop_tokens(conn: AsyncConnection, *, user_id: UUID, purpose: str | None = None) -> None:
    """Void the user's tokens (of one purpose): they were for an email or password now gone."""
    conditions = [c.user_id == user_id]
    if purpose is not None:
        conditions.append(c.purpose == purpose)
    await conn.execute(sa.delete(t).where(*conditions))


async def prune_tokens(conn: AsyncConnection, *, user_id: UUID, now: datetime) -> None:
    """Delete the user's used and expired tokens: called before each new one is kept."""
    stale = sa.or_(c.used_at.is_not(None), c.expires_at <= now)
    await conn.execute(sa.delete(t).where(c.user_id == user_id, stale))
