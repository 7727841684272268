"""Targets, people the user wants to meet: the rule for the goal a target is linked to.

Whether a target was met is not written by any rule here: ``targetMetAt`` is derived
(sync/derived.py) from the first interaction or MET attendance, so it converges whatever
order devices' pushes arrive in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from model.errors import FieldError, ValidationFailed
from store import tables
from sync.writer import Writer


async def check_target_goal(
    w: Writer, values: Mapping[str, Any], *, alive_only: bool = True
) -> None:
    """Refuse a ``targetGoalId`` that names none of the owner's goals (online: living ones).

    From a push, a goal deleted elsewhere still counts, as an introducer does: the device
    linked it while it saw the goal, and the link comes back whole if the goal is restored.
    """
    goal_id = values.get("targetGoalId")
    if goal_id is None:
        return
    g = tables.goals.c
    conditions = [g.owner_id == w.owner_id, g.id == goal_id]
    if alive_only:
        conditions.append(g.cl % 2 == 1)
    if await w.conn.scalar(sa.select(g.id).where(*conditions)) is None:
        raise ValidationFailed(
            [FieldError("targetGoalId", f"no goal with id {goal_id}; pick one of your goals")]
        )
