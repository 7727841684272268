"""Reads and small writes for devices, sent notifications and reminders (the API's side)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from store import keyset, rows, tables

_dev = tables.devices
_s = tables.scheduled_notifications
_d = tables.notification_deliveries
_r = tables.reminders

HISTORY = (
    keyset.SortKey(_s.c.send_at, "send_at", "time", descending=True),
    keyset.SortKey(_s.c.id, "id", "uuid", descending=True),
)
BY_DUE = (
    keyset.SortKey(_r.c.due_on, "due_on", "date"),
    keyset.SortKey(_r.c.id, "id", "uuid"),
)

# A transaction lock per token: the first key keeps these apart from other advisory locks
# (store.migrate's), the second is the token's hash (a collision only makes two tokens wait).
DEVICE_TOKEN_LOCKS = 7_228_437
_LOCK_TOKEN = sa.text(
    "SELECT pg_advisory_xact_lock(CAST(:space AS integer), hashtext(:token))"
).bindparams(space=DEVICE_TOKEN_LOCKS)


async def register_device(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    device_id: UUID,
    token: str,
    platform: str,
    app_version: str | None,
    locale: str | None,
    now: datetime,
) -> sa.RowMapping:
    """Store a push token for this owner; a token seen before moves here, never duplicates.

    A token belongs to one app install; when another account signs in on that phone, the
    token moves to it, so the previous account's pushes stop reaching that phone.
    """
    # Registrations of one token take turns until commit. Otherwise two accounts registering
    # it at once could each miss the other's uncommitted row in the delete, and the later
    # upsert would land on the earlier account's row: the token stayed there and the caller
    # was handed another user's device.
    await conn.execute(_LOCK_TOKEN, {"token": token})
    await conn.execute(sa.delete(_dev).where(_dev.c.token == token, _dev.c.owner_id != owner_id))
    insert = pg_insert(_dev).values(
        owner_id=owner_id,
        id=device_id,
        token=token,
        platform=platform,
        app_version=app_version,
        locale=locale,
        active=True,
        created_at=now,
        updated_at=now,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[_dev.c.owner_id, _dev.c.token],
        set_={
            "platform": insert.excluded.platform,
            "app_version": insert.excluded.app_version,
            "locale": insert.excluded.locale,
            "active": True,
            "disabled_reason": None,
            "updated_at": now,
        },
    ).returning(_dev)
    row: sa.RowMapping = (await conn.execute(upsert)).mappings().one()
    return row


async def delete_device(conn: AsyncConnection, *, owner_id: UUID, device_id: UUID) -> bool:
    result = await conn.execute(
        sa.delete(_dev)
        .where(_dev.c.owner_id == owner_id, _dev.c.id == device_id)
        .returning(_dev.c.id)
    )
    return result.first() is not None


async def list_devices(conn: AsyncConnection, *, owner_id: UUID) -> Sequence[sa.RowMapping]:
    query = (
        sa.select(_dev).where(_dev.c.owner_id == owner_id).order_by(_dev.c.created_at, _dev.c.id)
    )
    return (await conn.execute(query)).mappings().all()


# Rows a worker has taken, including those waiting out a back-off; untried rows are the
# agenda's business (``upcoming``), not history. The very predicate of the history index, so
# that every plan, generic ones too, can prove the index covers the query.
_HISTORY = sa.text(f"({tables.NOTIFICATION_HISTORY})")


def select_history(owner_id: UUID, after: list[Any] | None, limit: int) -> sa.Select[Any]:
    """Build the query for one page of an owner's notification history, newest first."""
    query = sa.select(_s).where(_s.c.owner_id == owner_id, _HISTORY)
    if after is not None:
        query = query.where(keyset.after_condition(HISTORY, after))
    return query.order_by(*keyset.order_clauses(HISTORY)).limit(limit)


async def list_notifications(
    conn: AsyncConnection, *, owner_id: UUID, after: list[Any] | None, limit: int
) -> Sequence[sa.RowMapping]:
    rows: Sequence[sa.RowMapping] = (
        (await conn.execute(select_history(owner_id, after, limit))).mappings().all()
    )
    return rows


async def count_notifications(conn: AsyncConnection, *, owner_id: UUID) -> int:
    query = sa.select(sa.func.count()).select_from(_s).where(_s.c.owner_id == owner_id, _HISTORY)
    return int(await conn.scalar(query) or 0)


async def list_deliveries(
    conn: AsyncConnection, *, owner_id: UUID, notification_ids: Sequence[UUID]
) -> dict[UUID, list[sa.RowMapping]]:
    """Each notification's deliveries, oldest first, with the platform each was sent to."""
    query = (
        sa.select(_d)
        .where(_d.c.owner_id == owner_id, _d.c.notification_id.in_(notification_ids))
        .order_by(_d.c.attempted_at, _d.c.id)
    )
    return await rows.fetch_grouped(conn, query, "notification_id")


async def mark_opened(
    conn: AsyncConnection, *, owner_id: UUID, notification_id: UUID, now: datetime
) -> sa.RowMapping | None:
    """Record the first opening of a push a device got; None if there is no such push.

    Only a push that reached a device (``sent_at`` is set on the first delivery), or one being
    sent right now, can have been opened; one still waiting, missed, failed or without a
    device cannot.
    """
    update = (
        sa.update(_s)
        .where(
            _s.c.owner_id == owner_id,
            _s.c.id == notification_id,
            sa.or_(_s.c.sent_at.is_not(None), _s.c.status == "SENDING"),
        )
        .values(opened_at=sa.func.coalesce(_s.c.opened_at, now))
        .returning(_s)
    )
    row: sa.RowMapping | None = (await conn.execute(update)).mappings().first()
    return row


async def has_notification(conn: AsyncConnection, *, owner_id: UUID, notification_id: UUID) -> bool:
    query = sa.select(sa.literal(True)).where(_s.c.owner_id == owner_id, _s.c.id == notification_id)
    return bool(await conn.scalar(query))


async def list_reminders(
    conn: AsyncConnection, *, owner_id: UUID, after: list[Any] | None, limit: int
) -> Sequence[sa.RowMapping]:
    query = sa.select(_r).where(_r.c.owner_id == owner_id, _r.c.cl % 2 == 1)
    if after is not None:
        query = query.where(keyset.after_condition(BY_DUE, after))
    query = query.order_by(*keyset.order_clauses(BY_DUE)).limit(limit)
    return (await conn.execute(query)).mappings().all()


async def count_reminders(conn: AsyncConnection, *, owner_id: UUID) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(_r)
        .where(_r.c.owner_id == owner_id, _r.c.cl % 2 == 1)
    )
    return int(await conn.scalar(query) or 0)
