"""Networking goals: a target, a metric and a period; progress is counted, never written."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from model.enums import Period
from model.errors import FieldError, NotFound, ValidationFailed
from model.patches import GoalPatch, validate_patch
from store import tables
from sync.entity import GOAL
from sync.writer import Writer


def check_dates(period: str, starts_on: date, ends_on: date | None) -> None:
    """Refuse a period that ends before it starts, or a custom period without an end."""
    if ends_on is not None and ends_on < starts_on:
        raise ValidationFailed(
            [FieldError("endsOn", f"ends before it starts ({starts_on}); pick a later date")]
        )
    if period == Period.CUSTOM and ends_on is None:
        raise ValidationFailed([FieldError("endsOn", "a CUSTOM period needs an end date")])


async def check_tag(w: Writer, tag_id: UUID | None, *, alive_only: bool) -> None:
    if tag_id is None:
        return
    t = tables.tags.c
    conditions = [t.owner_id == w.owner_id, t.id == tag_id]
    if alive_only:
        conditions.append(t.cl % 2 == 1)
    if await w.conn.scalar(sa.select(t.id).where(*conditions)) is None:
        raise ValidationFailed([FieldError("tagId", f"no tag with id {tag_id}; pick one of yours")])


async def put_goal(
    w: Writer,
    goal_id: UUID,
    data: dict[str, Any],
    *,
    clock: str | None = None,
    online: bool = True,
    must_exist: bool = False,
) -> sa.RowMapping:
    """Create a goal or change the fields a patch names (online: only living goals)."""
    row = await w.load(GOAL, {"id": goal_id})
    if must_exist and (row is None or row["cl"] % 2 == 0):
        raise NotFound("goal", goal_id)
    values = validate_patch(GoalPatch, data, creating=row is None)
    stored: dict[str, Any] = dict(row) if row is not None else {}
    # The rules hold for the goal as it will be, stored fields and patch together.
    period: str = values["period"] if "period" in values else stored["period"]
    starts_on: date = values["startsOn"] if "startsOn" in values else stored["starts_on"]
    ends_on: date | None = values["endsOn"] if "endsOn" in values else stored.get("ends_on")
    check_dates(period, starts_on, ends_on)
    await check_tag(w, values.get("tagId"), alive_only=online)
    clocks = dict.fromkeys(values, clock) if clock is not None else None
    written, _ = await w.put(GOAL, {"id": goal_id}, values, clocks=clocks, loaded=(row,))
    return written
