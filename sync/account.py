"""The user's own settings: profile, time zone, reminder preferences, the sentiment switch."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock
from model.errors import FieldError, ValidationFailed
from model.patches import UserPatch, validate_patch
from store import accounts
from sync import contact, sentiment
from sync.entity import snake_case
from sync.writer import begin_write


async def update_settings(
    engine: AsyncEngine, owner_id: UUID, clock: Clock, patch: dict[str, Any]
) -> sa.RowMapping:
    """Change the fields ``patch`` names, in one transaction; return the user's row.

    Lead days merge by kind (the kinds sent replace their lists); quiet hours are judged as
    they will be, stored and sent together.
    """
    _check_lead_days(patch.get("leadDays"))
    columns = {
        snake_case(k): v for k, v in validate_patch(UserPatch, patch, creating=False).items()
    }
    async with engine.begin() as conn:
        current = await accounts.get_user(conn, user_id=owner_id)
        assert current is not None
        if "lead_days" in columns:
            sent = {kind: columns["lead_days"][kind] for kind in patch["leadDays"]}
            columns["lead_days"] = {**current["lead_days"], **sent}
        merged = {**current, **columns}
        problem = _quiet_hours_problem(merged["quiet_hours_start"], merged["quiet_hours_end"])
        if problem is not None:
            raise ValidationFailed([FieldError("quietHoursEnd", problem)])
        row = await accounts.update_user(conn, user_id=owner_id, now=clock.now(), values=columns)
        sentiment_moved = row["sentiment_enabled"] != current["sentiment_enabled"]
        zone_moved = row["time_zone"] != current["time_zone"]
        if sentiment_moved or zone_moved:
            # Same transaction, through the write path: scores never outlive the switch that
            # turned them off, follow-up dates never the zone they were counted in. Begun
            # after the update, so the writer sees the new zone.
            w = await begin_write(conn, owner_id, clock)
            if sentiment_moved:
                await sentiment.apply_switch(w, row["sentiment_enabled"])
            if zone_moved:
                await contact.refresh_follow_ups(w)
            await w.finish()
    return row


def _check_lead_days(lead_days: dict[str, Any] | None) -> None:
    """Refuse a kind sent as null: leave it out to keep its list."""
    problems = [
        FieldError(f"leadDays.{kind}", "cannot be cleared; send a list, or leave it out")
        for kind, value in (lead_days or {}).items()
        if value is None
    ]
    if problems:
        raise ValidationFailed(problems)


def _quiet_hours_problem(start: Any, end: Any) -> str | None:
    if (start is None) != (end is None):
        return "set both quietHoursStart and quietHoursEnd, or clear both"
    if start is not None and start == end:
        return "quiet hours must not start and end at the same time"
    return None
