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
            sa.update(tables.planner_owners)
            .where(p.owner_id == user_id)
            .values(planned_version=-1, planned_at=None)
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


async def delete_user(conn: AsyncConnection, *, user_id: UUID) -> bool:
    """Delete a user and, through ON DELETE CASCADE on every owner key, all they own.

    Every owned table references ``users`` (``owner_id``, or ``user_id`` for sessions) with
    ON DELETE CASCADE, and rows keyed by another owned row cascade from it, so one statement
    removes contacts, sessions and refresh tokens, devices and pending pushes alike. A table
    added without such a key fails tests/api/test_account.py, which reads the catalog.
    """
    deleted = await conn.execute(sa.delete(tables.users).where(u.id == user_id).returning(u.id))
    return deleted.first() is not None


async def list_active_sessions(
    conn: AsyncConnection, *, user_id: UUID, now: datetime
) -> list[sa.RowMapping]:
    query = (
        sa.select(s.id, s.created_at, s.expires_at)
        .where(s.user_id == user_id, s.revoked_at.is_(None), s.expires_at > now)
        .order_by(s.created_at.desc(), s.id.desc())
    )
    return list((await conn.execute(query)).mappings())


async def revoke_user_session(
    conn: AsyncConnection, *, user_id: UUID, session_id: UUID, now: datetime
) -> bool:
    """Revoke one of the user's active sessions; False if it is not theirs or already ended."""
    update = (
        sa.update(tables.auth_sessions)
        .where(
            s.id == session_id,
            s.user_id == user_id,
            s.revoked_at.is_(None),
            s.expires_at > now,
        )
        .values(revoked_at=now)
        .returning(s.id)
    )
    return (await conn.execute(update)).first() is not None


async def revoke_other_sessions(
    conn: AsyncConnection, *, user_id: UUID, keep: UUID | None, now: datetime
) -> list[UUID]:
    """Revoke every active session of the user but ``keep``; return the revoked ids."""
    conditions = [s.user_id == user_id, s.revoked_at.is_(None)]
    if keep is not None:
        conditions.append(s.id != keep)
    update = (
        sa.update(tables.auth_sessions).where(*conditions).values(revoked_at=now).returning(s.id)
    )
    return [row.id for row in await conn.execute(update)]
