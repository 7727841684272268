"""Dismissing a duplicate pair: the user says two contacts are different people.

Not a synced entity (a dismissal only hides a pair from ``duplicateCandidates``), so it owns
a plain transaction rather than a ``Writer``, as devices do (``sync/device.py``).
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from model import errors
from model.clock import Clock
from store import duplicates as store


async def dismiss_duplicate(
    engine: AsyncEngine, owner_id: UUID, clock: Clock, a: UUID, b: UUID
) -> None:
    """Leave the pair out of the candidates from now on; dismissing twice changes nothing.

    Both must be the owner's contacts (deleted ones included), and two different ones.
    """
    if a == b:
        raise errors.ValidationFailed(
            [errors.FieldError("contactB", "name two different contacts")]
        )
    async with engine.begin() as conn:
        found = await store.existing_contacts(conn, owner_id=owner_id, contact_ids=[a, b])
        for contact_id in (a, b):
            if contact_id not in found:
                raise errors.NotFound("contact", contact_id)
        await store.dismiss_pair(conn, owner_id=owner_id, a=a, b=b, now=clock.now())
