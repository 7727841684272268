"""What a claimed batch's sending needs besides its rows: owners, devices, earlier outcomes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.sender import Outcome
from store import tables

_d = tables.notification_deliveries
_devices = tables.devices

# Final for a device: it got the push, or never will.
FINAL_OUTCOMES = (Outcome.DELIVERED.value, Outcome.DEAD_TOKEN.value, Outcome.FAILED.value)


@dataclass(frozen=True)
class Recipients:
    """A batch's owners and active devices, and what earlier attempts already settled."""

    owners: dict[UUID, Any]
    devices: dict[UUID, list[Any]]
    # (notification, device) pairs with a final outcome from an earlier attempt...
    done: set[tuple[UUID, UUID]]
    # ... and the notifications that reached at least one device then.
    delivered: set[UUID]


async def load_recipients(conn: AsyncConnection, claimed: list[Any]) -> Recipients:
    """Read, in three statements, the recipients of the ``claimed`` rows."""
    # As arrays: a statement with one parameter compiles and prepares once, where an IN
    # list of up to 500 would be rendered again for every batch.
    owner_ids = sa.func.any(_uuids("owner_ids", sorted({row.owner_id for row in claimed})))
    u = tables.users.c
    owners = {
        row.id: row
        for row in await conn.execute(
            sa.select(u.id, u.time_zone, u.daily_digest).where(u.id == owner_ids)
        )
    }
    devices: dict[UUID, list[Any]] = defaultdict(list)
    query = (
        sa.select(_devices)
        .where(_devices.c.owner_id == owner_ids, _devices.c.active.is_(True))
        .order_by(_devices.c.owner_id, _devices.c.id)
    )
    for row in await conn.execute(query):
        devices[row.owner_id].append(row)
    # Devices that already have a final outcome for a row from an earlier attempt.
    ids = sa.func.any(_uuids("ids", [row.id for row in claimed]))
    query = sa.select(_d.c.notification_id, _d.c.device_id, _d.c.outcome).where(
        _d.c.owner_id == owner_ids, _d.c.notification_id == ids, _d.c.outcome.in_(FINAL_OUTCOMES)
    )
    done: set[tuple[UUID, UUID]] = set()
    delivered: set[UUID] = set()
    for row in await conn.execute(query):
        done.add((row.notification_id, row.device_id))
        if row.outcome == Outcome.DELIVERED.value:
            delivered.add(row.notification_id)
    return Recipients(owners, devices, done, delivered)


def _uuids(name: str, values: list[UUID]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, values, type_=ARRAY(PG_UUID(as_uuid=True)))
