"""Imported interactions get their sentiment like any other write, or none when it is off."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import SystemClock
from store import tables
from store.accounts import insert_user
from sync import importer
from sync.entity import CONTACT, INTERACTION, new_id
from sync.writer import open_writer


async def _import(engine: AsyncEngine, *, enabled: bool) -> float | None:
    owner = new_id()
    async with engine.begin() as conn:
        await insert_user(
            conn,
            user_id=owner,
            now=datetime.now(UTC),
            email=f"{owner}@example.com",
            sentiment_enabled=enabled,
        )
    contact_id, interaction_id = new_id(), new_id()
    async with open_writer(engine, owner, SystemClock()) as w:
        await importer.import_rows(w, CONTACT, [({"id": contact_id}, {"firstName": "Ada"})])
        await importer.import_rows(
            w,
            INTERACTION,
            [
                (
                    {"id": interaction_id},
                    {
                        "occurredAt": datetime.now(UTC),
                        "summary": "A wonderful, happy lunch",
                        "body": None,
                    },
                )
            ],
        )
    i = tables.interactions.c
    async with engine.connect() as conn:
        score: float | None = await conn.scalar(
            sa.select(i.sentiment).where(i.owner_id == owner, i.id == interaction_id)
        )
    return score


async def test_imports_are_scored(engine: AsyncEngine) -> None:
    score = await _import(engine, enabled=True)
    assert score is not None
    assert score > 0.5


async def test_imports_of_an_owner_who_opted_out_are_not(engine: AsyncEngine) -> None:
    assert await _import(engine, enabled=False) is None
