"""Sync clients: one row per device install, owned by exactly one user."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from model.errors import RapportError
from store import tables

c = tables.sync_clients.c
MAX_CLIENT_ID = 128


class ClientNotYours(RapportError):
    """This clientId is registered to another account; generate a new one for this install."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        super().__init__(
            f"clientId {client_id!r} belongs to another account; generate a new id for this install"
        )


async def lock_client(
    conn: AsyncConnection, *, owner_id: UUID, client_id: str, now: datetime
) -> sa.RowMapping:
    """Register the client on first sight and lock its row for this transaction."""
    # The key is (owner_id, client_id), as sharding by owner needs, so one owner per client id
    # is this check's: two accounts first pushing the same new id at the same instant could
    # both register it, and each then keeps its own row and mutation sequence.
    await check_client(conn, owner_id=owner_id, client_id=client_id)
    await conn.execute(
        pg_insert(tables.sync_clients)
        .values(client_id=client_id, owner_id=owner_id, created_at=now, last_seen_at=now)
        .on_conflict_do_nothing()
    )
    mine = sa.select(tables.sync_clients).where(c.owner_id == owner_id, c.client_id == client_id)
    row: sa.RowMapping = (await conn.execute(mine.with_for_update())).mappings().one()
    return row


async def check_client(conn: AsyncConnection, *, owner_id: UUID, client_id: str) -> None:
    """Refuse a client id registered to another account; an unknown one is anyone's to claim."""
    other = (
        await conn.execute(
            sa.select(c.owner_id).where(c.client_id == client_id, c.owner_id != owner_id).limit(1)
        )
    ).scalar_one_or_none()
    if other is not None:
        raise ClientNotYours(client_id)
