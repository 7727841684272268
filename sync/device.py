"""Devices and the pushes they got: the app's online writes that do not sync.

A device is registered by its FCM token, which moves to whoever registers it last; opening a
push is recorded only for one some device has received.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock
from model.errors import FieldError, ValidationFailed
from model.text import find_hidden_character
from store import notifications as store

MAX_TOKEN = 4096
MAX_LABEL = 64


def check_token(token: str) -> str | None:
    """Return why ``token`` is not an FCM registration token, or None when it may be one."""
    token = token.strip()
    if not token:
        return "send the FCM registration token the app received"
    if (hidden := find_hidden_character(token)) is not None:
        return (
            f"remove the control or invisible character ({hidden}): send the token as FCM gave it"
        )
    if len(token) > MAX_TOKEN or any(c.isspace() for c in token):
        return f"an FCM token is one word of at most {MAX_TOKEN} characters"
    return None


def check_label(value: str | None) -> str | None:
    """Return why ``value`` cannot be an app version or locale, or None."""
    if value is None:
        return None
    if (hidden := find_hidden_character(value)) is not None:
        return f"remove the control or invisible character ({hidden})"
    if len(value) > MAX_LABEL:
        return f"use at most {MAX_LABEL} characters"
    return None


async def register_device(
    engine: AsyncEngine,
    owner_id: UUID,
    clock: Clock,
    *,
    token: str,
    platform: str,
    app_version: str | None,
    locale: str | None,
) -> sa.RowMapping:
    """Register (or move to this owner, or refresh) the device with ``token``."""
    problems = []
    if (problem := check_token(token)) is not None:
        problems.append(FieldError("token", problem))
    for name, value in (("appVersion", app_version), ("locale", locale)):
        if (problem := check_label(value)) is not None:
            problems.append(FieldError(name, problem))
    if problems:
        raise ValidationFailed(problems)
    async with engine.begin() as conn:
        return await store.register_device(
            conn,
            owner_id=owner_id,
            device_id=uuid.uuid4(),
            token=token.strip(),
            platform=platform,
            app_version=app_version,
            locale=locale,
            now=clock.now(),
        )


async def unregister_device(engine: AsyncEngine, owner_id: UUID, device_id: UUID) -> bool:
    """Stop pushes to a device; False when the owner has no such device."""
    async with engine.begin() as conn:
        return await store.delete_device(conn, owner_id=owner_id, device_id=device_id)


async def mark_opened(
    engine: AsyncEngine, owner_id: UUID, clock: Clock, notification_id: UUID
) -> tuple[sa.RowMapping, Sequence[sa.RowMapping]] | None:
    """Record that the user opened a push; return it with its deliveries, None if unknown.

    A push no device has received (not sent yet, missed, failed) is refused, and nothing
    changes.
    """
    async with engine.begin() as conn:
        row = await store.mark_opened(
            conn, owner_id=owner_id, notification_id=notification_id, now=clock.now()
        )
        if row is None:
            if await store.has_notification(
                conn, owner_id=owner_id, notification_id=notification_id
            ):
                problem = "no device has received this push: mark it when the app shows it"
                raise ValidationFailed([FieldError("id", problem)])
            return None
        deliveries = await store.list_deliveries(
            conn, owner_id=owner_id, notification_ids=[notification_id]
        )
    return row, deliveries.get(notification_id, [])
