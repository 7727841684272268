"""Single-use tokens sent by email, kept as SHA-256 digests: password resets, email changes
and email verifications."""

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
VERIFY = "verify"


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


async def issue_reset_token(
    conn: AsyncConnection, *, email: str, token_hash: bytes, now: datetime, expires_at: datetime
) -> UUID | None:
    """Keep a reset token for the password account of ``email``; return its id, or None.

    One statement whether or not the account exists (and prunes its stale tokens first): an
    unknown email runs exactly what a known one does, so its answer does not come sooner.
    """
    u = tables.users.c
    # A Firebase account has no password here: its password is its provider's business.
    account = (
        sa.select(u.id)
        .where(u.email == email, u.password_hash.is_not(None), u.password_hash != "")
        .cte("account")
    )
    stale = sa.or_(c.used_at.is_not(None), c.expires_at <= now)
    prune = sa.delete(t).where(c.user_id.in_(sa.select(account.c.id)), stale).cte("pruned")
    insert = (
        sa.insert(t)
        .from_select(
            ["token_hash", "user_id", "purpose", "created_at", "expires_at"],
            sa.select(
                sa.literal(token_hash, sa.LargeBinary),
                account.c.id,
                sa.literal(RESET),
                sa.literal(now, sa.DateTime(timezone=True)),
                sa.literal(expires_at, sa.DateTime(timezone=True)),
            ),
        )
        # A data-modifying CTE runs though nothing reads it.
        .add_cte(prune)
        .returning(c.user_id)
    )
    user_id: UUID | None = (await conn.execute(insert)).scalar_one_or_none()
    return user_id


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
