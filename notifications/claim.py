"""Claiming due pushes: a worker takes a batch of rows, leased to it, before sending any.

A claim sets each row to SENDING with a short lease (``FOR UPDATE SKIP LOCKED``, so workers
never take the same row) and is committed before anything is sent. Rows whose lease ran out
(their worker died mid-batch) come first, then pending rows, oldest due first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import tables

_s = tables.scheduled_notifications


@dataclass(frozen=True)
class Claim:
    """Who claims, for how long, how many rows, and how many takes a row is allowed."""

    worker: str
    lease: timedelta
    batch_size: int
    max_attempts: int

    async def take(self, conn: AsyncConnection, now: datetime) -> list[Any]:
        """Claim a batch; rows taken too often come back settled (SENT or FAILED) instead."""
        # Two statements, because each condition then walks its own partial index in order
        # and stops at the batch's size, where one OR-ed query gathered and sorted the whole
        # backlog on every claim.
        claimed = await self._take_where(
            conn,
            now,
            _s.c.status == "SENDING",
            _s.c.lease_until < now,
            _s.c.lease_until,
            give_up=True,
        )
        if len(claimed) < self.batch_size:
            claimed += await self._take_where(
                conn,
                now,
                _s.c.status == "PENDING",
                _s.c.due_at <= now,
                _s.c.due_at,
                limit=self.batch_size - len(claimed),
            )
        return claimed

    async def _take_where(
        self,
        conn: AsyncConnection,
        now: datetime,
        status: sa.ColumnElement[bool],
        due: sa.ColumnElement[bool],
        order: sa.ColumnElement[Any],
        limit: int | None = None,
        give_up: bool = False,
    ) -> list[Any]:
        """Claim rows; with ``give_up``, settle FAILED those taken too often instead."""
        picked = (
            sa.select(_s.c.owner_id, _s.c.id)
            .where(status, due)
            .order_by(order)
            .limit(limit or self.batch_size)
            .with_for_update(skip_locked=True)
            .cte("picked")
        )
        values: dict[str, Any] = {
            "status": "SENDING",
            "lease_until": now + self.lease,
            "leased_by": self.worker,
            "attempts": _s.c.attempts + 1,
            "updated_at": now,
        }
        if give_up:
            # A batch whose every taker died (a push that crashes the worker, a host that keeps
            # going down) would otherwise be sent again each time its lease ran out, for ever.
            exhausted = _s.c.attempts >= self.max_attempts
            gave_up = sa.func.format("a worker took it %s times without finishing", _s.c.attempts)
            values |= {
                # One that a device got already is SENT, as settlement would have said.
                "status": sa.case(
                    (exhausted & _s.c.sent_at.is_not(None), "SENT"),
                    (exhausted, "FAILED"),
                    else_="SENDING",
                ),
                "lease_until": sa.case((exhausted, sa.null()), else_=values["lease_until"]),
                "leased_by": sa.case((exhausted, sa.null()), else_=self.worker),
                "attempts": sa.case((exhausted, _s.c.attempts), else_=values["attempts"]),
                "last_error": sa.case((exhausted, gave_up), else_=_s.c.last_error),
            }
        claim = (
            sa.update(_s)
            .where(_s.c.owner_id == picked.c.owner_id, _s.c.id == picked.c.id)
            .values(values)
            .returning(_s)
        )
        return list((await conn.execute(claim)).all())
