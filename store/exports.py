"""Export downloads: a link's one use, recorded on the primary as its download starts."""

from __future__ import annotations

import enum
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import accounts, tables

d = tables.export_downloads


class Start(enum.Enum):
    """What became of a download's start."""

    STARTED = "started"
    NO_OWNER = "no owner"  # the account was deleted after the link was made
    SESSION_ENDED = "session ended"  # the session that asked for the link signed out
    USED = "used"  # the link started a download before


async def start_download(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    link_id: UUID,
    session_id: UUID | None,
    link_expires_at: datetime,
    now: datetime,
) -> Start:
    """Record that a link's download starts, unless it may not (see ``Start``).

    Run in the caller's transaction on the primary; the record is the link's one use.
    """
    owner = await conn.scalar(sa.select(tables.users.c.id).where(tables.users.c.id == owner_id))
    if owner is None:
        return Start.NO_OWNER
    if session_id is not None and not await accounts.session_is_active(
        conn, session_id=session_id, now=now
    ):
        return Start.SESSION_ENDED
    # The owner's records of links that ended are kept for nothing: prune them here, so the
    # table holds at most the links of the last few minutes, without a sweeper.
    await conn.execute(sa.delete(d).where(d.c.owner_id == owner_id, d.c.link_expires_at <= now))
    recorded = await conn.scalar(
        insert(d)
        .values(owner_id=owner_id, link_id=link_id, started_at=now, link_expires_at=link_expires_at)
        .on_conflict_do_nothing(index_elements=[d.c.owner_id, d.c.link_id])
        .returning(d.c.link_id)
    )
    return Start.STARTED if recorded is not None else Start.USED
