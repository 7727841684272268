"""Tag writes and tag membership. Two tags with the same name are one tag."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa

from model.errors import Conflict, NotFound
from model.patches import TagPatch, validate_patch
from store import tables
from sync.contact import require_alive_contacts
from sync.entity import CONTACT_TAG, TAG, tag_key
from sync.writer import Writer

_t = tables.tags.c


async def _find_by_name(w: Writer, name: str) -> sa.RowMapping | None:
    query = sa.select(tables.tags).where(_t.owner_id == w.owner_id, _t.name_key == tag_key(name))
    return (await w.conn.execute(query)).mappings().first()


async def create_tag(w: Writer, tag_id: UUID, data: dict[str, Any]) -> sa.RowMapping:
    """Create a tag, or return the one that already has this name (restoring it if deleted)."""
    values = validate_patch(TagPatch, data, creating=True)
    existing = await _find_by_name(w, values["name"])
    if existing is None:
        row, _ = await w.put(TAG, {"id": tag_id}, values)
        return row
    if existing["cl"] % 2 == 0:
        existing, _ = await w.set_alive(TAG, {"id": existing["id"]}, alive=True)
    if "color" in values:
        existing, _ = await w.put(TAG, {"id": existing["id"]}, {"color": values["color"]})
    return existing


async def update_tag(w: Writer, tag_id: UUID, data: dict[str, Any]) -> sa.RowMapping:
    """Rename or recolor a tag; a name another tag already has is a conflict."""
    values = validate_patch(TagPatch, data, creating=False)
    if "name" in values:
        other = await _find_by_name(w, values["name"])
        if other is not None and other["id"] != tag_id:
            state = "a deleted tag" if other["cl"] % 2 == 0 else "another tag"
            raise Conflict(f"{state} is already named {other['name']!r}; pick another name")
    row, _ = await w.put(TAG, {"id": tag_id}, values, alive_only=True)
    return row


async def delete_tag(w: Writer, tag_id: UUID) -> sa.RowMapping:
    """Delete a tag; contacts keep their other tags."""
    row, _ = await w.set_alive(TAG, {"id": tag_id}, alive=False)
    return row


async def set_membership(
    w: Writer, tag_id: UUID, contact_ids: list[UUID], tagged: bool
) -> sa.RowMapping:
    """Tag (or untag) contacts; return the tag."""
    tag = await w.load(TAG, {"id": tag_id})
    if tag is None or tag["cl"] % 2 == 0:
        raise NotFound("tag", tag_id)
    await require_alive_contacts(w, contact_ids)
    for contact_id in dict.fromkeys(contact_ids):
        await w.insert_membership(CONTACT_TAG, {"tag_id": tag_id, "contact_id": contact_id}, tagged)
    return tag
