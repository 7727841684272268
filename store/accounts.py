"""Accounts: users, their sign-in sessions and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

u = tables.users.c
s = tables.auth_sessions.c
r = tables.refresh_tokens.c


async def insert_user(
    conn: AsyncConnection, *, user_id: UUID, now: datetime, **values: Any
) -> sa.RowMapping | None:
    """Create a user with their version and planner rows; None if the email or uid is taken."""
    insert = (
        pg_insert(tables.users)
        .values(id=user_id, created_at=now, updated_at=now, **values)
        .on_conflict_do_nothing()
        .returning(tables.users)
    )
    row: sa.RowMapping | None = (await conn.execute(insert)).mappings().first()
    if row is None:
        return None
    await conn.execute(
        sa.insert(tables.sync_owners).values(
            owner_id=user_id, version=0, hlc="", epoch=uuid.uuid4()
        )
    )
    # The planner claims owners by locking this row; a new one is due a plan at once.
    await conn.execute(sa.insert(tables.planner_owners).values(owner_id=user_id))
    return row


async def get_user(conn: AsyncConnection, *, user_id: UUID) -> sa.RowMapping | None:
    return (await conn.execute(sa.select(tables.users).where(u.id == user_id))).mappings().first()


async def find_user_by_email(conn: AsyncConnection, *, email: str) -> sa.RowMapping | None:
    query = sa.select(tables.users).where(u.email == email)
    return (await conn.execute(query)).mappings().first()


async def find_user_by_firebase_uid(conn: AsyncConnection, *, uid: str) -> sa.RowMapping | None:
    query = sa.select(tables.users).where(u.firebase_uid == uid)
    return (await conn.execute(query)).mappings().first()


async def update_user(
    conn: AsyncConnection, *, user_id: UUID, now: datetime, values: dict[str, Any]
) -> sa.RowMapping:
    update = (
        sa.update(tables.users)
        .where(u.id == user_id)
        .values(updated_at=now, **values)
        .returning(tables.users)
    )
    row: sa.RowMapping = (await conn.execute(update)).mappings().one()
    if _PLANNING.intersection(values):
        # Pending pushes were timed with the old settings: have the planner redo them.
        p = tables.planner_owners.c
        await conn.execute(
            sa.update(tables.planner_owners).where(p.owner_id == user_id).values(planned_version=-1)
        )
    return row


# The settings that decide when pushes go out.
_PLANNING = frozenset(
    {"time_zone", "reminder_hour", "quiet_hours_start", "quiet_hours_end", "lead_days"}
)


async def insert_session(
    conn: AsyncConnection, *, session_id: UUID, user_id: UUID, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        sa.insert(tables.auth_sessions).values(
            id=session_id, user_id=user_id, created_at=now, expires_at=expires_at
        )
    )


async def insert_refresh_token(
    conn: AsyncConnection, *, token_hash: bytes, session_id: UUID, now: datetime
) -> None:
    await conn.execute(
        sa.insert(tables.refresh_tokens).values(
            token_hash=token_hash, session_id=session_id, issued_at=now
        )
    )


async def claim_refresh_token(
    conn: AsyncConnection, *, token_hash: bytes, now: datetime
) -> sa.RowMapping | None:
    """Lock a refresh token and its session; return both, or None if the token is unknown."""
    query = (
        sa.select(r.used_at, s.id.label("session_id"), s.user_id, s.expires_at, s.revoked_at)
        .join(tables.auth_sessions, s.id == r.session_id)
        .where(r.token_hash == token_hash)
        .with_for_update()
    )
    row = (await conn.execute(query)).mappings().first()
    if row is not None and row["used_at"] is None:
        await conn.execute(
            sa.update(tables.refresh_tokens).where(r.token_hash == token_hash).values(used_at=now)
        )
    return row


async def revoke_session(conn: AsyncConnection, *, session_id: UUID, now: datetime) -> None:
    await conn.execute(
        sa.update(tables.auth_sessions)
        .where(s.id == session_id, s.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def session_is_active(conn: AsyncConnection, *, session_id: UUID, now: datetime) -> bool:
    query = sa.select(s.id).where(s.id == session_id, s.revoked_at.is_(None), s.expires_at > now)
    return (await conn.scalar(query)) is not None
