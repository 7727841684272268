"""Owners, contacts, reminders and devices for the notification tests, through the write path."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from model.patches import ContactPatch, ReminderPatch, validate_patch
from store import accounts, tables
from store import notifications as devices
from sync.entity import CONTACT, REMINDER, new_id
from sync.writer import open_writer


async def make_user(engine: AsyncEngine, now: datetime, **settings: Any) -> UUID:
    owner = new_id()
    async with engine.begin() as conn:
        await accounts.insert_user(
            conn, user_id=owner, now=now, email=f"{owner}@example.com", **settings
        )
    return owner


async def put_contact(
    engine: AsyncEngine, owner: UUID, now: datetime, contact_id: UUID | None = None, **fields: Any
) -> UUID:
    contact_id = contact_id or new_id()
    async with open_writer(engine, owner, FixedClock(now)) as w:
        values = validate_patch(ContactPatch, fields, creating=False)
        await w.put(CONTACT, {"id": contact_id}, values)
        if {"cadenceDays", "snoozedUntil"} & set(values):
            w.touched_contacts.add(contact_id)
    return contact_id


async def put_reminder(
    engine: AsyncEngine, owner: UUID, now: datetime, reminder_id: UUID | None = None, **fields: Any
) -> UUID:
    reminder_id = reminder_id or new_id()
    async with open_writer(engine, owner, FixedClock(now)) as w:
        values = validate_patch(ReminderPatch, fields, creating=False)
        await w.put(REMINDER, {"id": reminder_id}, values)
    return reminder_id


async def add_device(
    engine: AsyncEngine,
    owner: UUID,
    now: datetime,
    token: str,
    platform: str = "android",
    locale: str | None = "en",
) -> UUID:
    async with engine.begin() as conn:
        row = await devices.register_device(
            conn,
            owner_id=owner,
            device_id=new_id(),
            token=token,
            platform=platform,
            app_version="1.0",
            locale=locale,
            now=now,
        )
    device_id: UUID = row["id"]
    return device_id


async def scheduled(engine: AsyncEngine, owner: UUID) -> list[sa.RowMapping]:
    s = tables.scheduled_notifications.c
    async with engine.connect() as conn:
        query = (
            sa.select(tables.scheduled_notifications)
            .where(s.owner_id == owner)
            .order_by(s.send_at, s.kind, s.lead_days)
        )
        return list((await conn.execute(query)).mappings().all())


async def deliveries(engine: AsyncEngine, owner: UUID) -> list[sa.RowMapping]:
    d = tables.notification_deliveries.c
    async with engine.connect() as conn:
        query = (
            sa.select(tables.notification_deliveries)
            .where(d.owner_id == owner)
            .order_by(d.attempted_at, d.id)
        )
        return list((await conn.execute(query)).mappings().all())
