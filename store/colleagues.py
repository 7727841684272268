"""Reads of colleague links, invitations, shared cards and introduction requests.

Every read but the incoming invitations is scoped by ``owner_id``: each side reads only its own
rows. Incoming invitations are found by the digest of the reader's email in the global
invitation table, with the inviter's name from the users table (both reference tables).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

# Lists are short by nature (people one works with); a cap keeps a read bounded all the same.
MAX_ROWS = 200

_l = tables.colleagues.c
_i = tables.colleague_invitations.c
_u = tables.users.c


async def list_links(conn: AsyncConnection, *, owner_id: UUID) -> list[sa.RowMapping]:
    """Return the owner's colleague links: active ones first, then the latest."""
    query = (
        sa.select(tables.colleagues)
        .where(_l.owner_id == owner_id)
        .order_by((_l.status == "ACTIVE").desc(), _l.linked_at.desc(), _l.id)
        .limit(MAX_ROWS)
    )
    return list((await conn.execute(query)).mappings().all())


async def get_link(conn: AsyncConnection, *, owner_id: UUID, link_id: UUID) -> sa.RowMapping | None:
    query = sa.select(tables.colleagues).where(_l.owner_id == owner_id, _l.id == link_id)
    return (await conn.execute(query)).mappings().first()


async def incoming_invitations(
    conn: AsyncConnection, *, email_hash: bytes, now: datetime
) -> list[sa.RowMapping]:
    """Return the pending, unexpired invitations sent to an email's digest, with the inviter."""
    query = (
        sa.select(
            tables.colleague_invitations,
            sa.func.coalesce(sa.func.nullif(_u.display_name, ""), _u.email).label("inviter_name"),
            _u.email.label("inviter_email"),
        )
        .join(tables.users, _u.id == _i.inviter_id)
        .where(_i.email_hash == email_hash, _i.status == "PENDING", _i.expires_at > now)
        .order_by(_i.created_at.desc(), _i.id)
        .limit(MAX_ROWS)
    )
    return list((await conn.execute(query)).mappings().all())


async def outgoing_invitations(conn: AsyncConnection, *, owner_id: UUID) -> list[sa.RowMapping]:
    """Return the invitations the owner sent, latest first."""
    query = (
        sa.select(tables.colleague_invitations)
        .where(_i.inviter_id == owner_id)
        .order_by(_i.created_at.desc(), _i.id)
        .limit(MAX_ROWS)
    )
    return list((await conn.execute(query)).mappings().all())


async def list_items(
    conn: AsyncConnection, *, table: sa.Table, owner_id: UUID, direction: str
) -> list[sa.RowMapping]:
    """Return shared cards or introduction requests of one direction, latest first.

    Each row carries its link's colleague name, status and whether the colleague's account
    still exists, so a pending item of an ended link can be shown as ended.
    """
    t = table.c
    query = (
        sa.select(
            table,
            _l.peer_name.label("colleague_name"),
            _l.status.label("link_status"),
            _l.peer_id.label("colleague_user_id"),
        )
        .join(tables.colleagues, sa.and_(_l.owner_id == t.owner_id, _l.id == t.link_id))
        .where(t.owner_id == owner_id, t.direction == direction)
        .order_by(t.created_at.desc(), t.id.desc())
        .limit(MAX_ROWS)
    )
    return list((await conn.execute(query)).mappings().all())


async def get_item(
    conn: AsyncConnection, *, table: sa.Table, owner_id: UUID, item_id: UUID
) -> sa.RowMapping | None:
    """Return one shared card or introduction request with its link's columns."""
    t = table.c
    query = (
        sa.select(
            table,
            _l.peer_name.label("colleague_name"),
            _l.status.label("link_status"),
            _l.peer_id.label("colleague_user_id"),
        )
        .join(tables.colleagues, sa.and_(_l.owner_id == t.owner_id, _l.id == t.link_id))
        .where(t.owner_id == owner_id, t.id == item_id)
    )
    return (await conn.execute(query)).mappings().first()
