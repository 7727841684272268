"""Merging duplicate contacts into one survivor, in one write transaction.

Everything goes through the caller's Writer with the server's clock, so every change syncs:

- the survivor's lists (emails, phones, urls, interests) become the union of all, its own
  entries first; its empty fields take the first merged contact's value; notes (and research
  notes) are joined; a merged target makes the survivor a target;
- interactions, tags, reminders, event attendance and "introduced by" links of the merged
  contacts move to the survivor (goals aim at tags, so they follow the tags);
- the merged contacts become tombstones whose ``merged_into`` names the survivor (pulls show
  it as ``derived.mergedInto``), and so do contacts merged into them earlier.

A device that edits a merged contact afterwards is refused with the survivor named
(``ContactMerged``); a device that refers to one (an interaction's participants, a tag, an
event) is redirected to the survivor (``redirect_contacts``). See docs/sync.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from insights.duplicate import email_key, phone_key, url_key
from model.errors import Conflict, FieldError, NotFound, RapportError, ValidationFailed
from model.patches import ContactPatch, validate_patch
from store import tables
from sync.entity import CONTACT, CONTACT_TAG, EVENT_ATTENDEE, REMINDER, snake_case
from sync.writer import Writer

MAX_MERGED = 20

# Lists united by a merge, each with the key that says two entries are one, and its limit.
_LISTS: dict[str, tuple[Any, int]] = {
    "emails": (lambda e: email_key(e["value"]), 20),
    "phones": (lambda e: phone_key(e["value"]) or e["value"], 20),
    "urls": (lambda e: url_key(e["value"]), 20),
    "interests": (lambda label: label.casefold(), 50),
}
# Joined, each merged contact's text after the survivor's.
_JOINED = ("notes", "howWeMet", "researchNotes")
_NOTES_LIMIT = 100_000
# Fields the survivor keeps; when empty (or at their default), the first merged value fills them.
_DEFAULTS: dict[str, Any] = {
    "lastName": "",
    "stage": "NEW",
    "importance": "NORMAL",
    # A duplicate marked as someone to meet makes the survivor one (issue 18).
    "isTarget": False,
}
_IMPORTANCE = ("LOW", "NORMAL", "HIGH", "VIP")

_c = tables.contacts.c
_p = tables.interaction_participants


class ContactMerged(Conflict):
    """The contact was merged into another; act on the survivor instead."""

    def __init__(self, contact_id: UUID, survivor_id: UUID) -> None:
        self.contact_id = contact_id
        self.survivor_id = survivor_id
        super().__init__(
            f"contact {contact_id} was merged into contact {survivor_id}; "
            f"apply the change to {survivor_id}"
        )


class ContactDeleted(RapportError):
    """The contact is deleted (not merged): restore it first, or leave it out."""

    def __init__(self, contact_id: UUID) -> None:
        self.contact_id = contact_id
        super().__init__(f"contact {contact_id} is deleted; restore it first, or leave it out")


def _api_values(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A contact row's fields by API name, as a patch would carry them."""
    values: dict[str, Any] = {}
    for name in CONTACT.fields:
        if name == "birthday":
            month = row["birthday_month"]
            values[name] = (
                None
                if month is None
                else {"month": month, "day": row["birthday_day"], "year": row["birthday_year"]}
            )
        else:
            values[name] = row[snake_case(name)]
    return values


def _united(name: str, lists: Iterable[list[Any]]) -> list[Any]:
    key, _ = _LISTS[name]
    seen: dict[Any, Any] = {}
    for items in lists:
        for item in items:
            seen.setdefault(key(item), item)
    return list(seen.values())


def merged_fields(
    keep: Mapping[Any, Any], others: Sequence[Mapping[Any, Any]], merged_ids: set[UUID]
) -> dict[str, Any]:
    """The survivor's fields that the merge changes, by API name (pure)."""
    current = _api_values(keep)
    sources = [_api_values(row) for row in others]
    wanted = dict(current)
    problems: list[FieldError] = []
    for name, (_, limit) in _LISTS.items():
        united = _united(name, [current[name], *(s[name] for s in sources)])
        if len(united) > limit:
            problems.append(
                FieldError(
                    name,
                    f"the contacts have {len(united)} different {name} together, more than "
                    f"{limit}; remove some first",
                )
            )
        wanted[name] = united
    for name in _JOINED:
        texts = [t for t in [current[name], *(s[name] for s in sources)] if t]
        joined = "\n\n".join(dict.fromkeys(texts)) or None
        if joined is not None and len(joined) > _NOTES_LIMIT:
            problems.append(
                FieldError(
                    name,
                    f"the joined {name} would be {len(joined)} characters, more than "
                    f"{_NOTES_LIMIT}; shorten them first",
                )
            )
        wanted[name] = joined
    if problems:
        raise ValidationFailed(problems)
    for name in CONTACT.fields:
        if name in _LISTS or name in _JOINED or name == "firstName":
            continue
        if current[name] is None or current[name] == _DEFAULTS.get(name, ()):
            for source in sources:
                value = source[name]
                if value is not None and value != _DEFAULTS.get(name, ()):
                    wanted[name] = value
                    break
    wanted["importance"] = max(
        [current["importance"], *(s["importance"] for s in sources)], key=_IMPORTANCE.index
    )
    introducer = wanted["introducedById"]
    if introducer is not None and (introducer == keep["id"] or introducer in merged_ids):
        # Introduced by one of the duplicates of themselves: no one we know introduced them.
        wanted["introducedById"] = None
    return {name: value for name, value in wanted.items() if value != current[name]}


def _check_ids(keep_id: UUID, merge_ids: Sequence[UUID]) -> None:
    problems = []
    if not 1 <= len(merge_ids) <= MAX_MERGED:
        problems.append(
            FieldError("mergeIds", f"send 1 to {MAX_MERGED} contact ids, not {len(merge_ids)}")
        )
    if keep_id in merge_ids:
        problems.append(
            FieldError("mergeIds", "must not contain keepId: the kept contact absorbs the others")
        )
    if len(set(merge_ids)) != len(merge_ids):
        problems.append(FieldError("mergeIds", "names a contact twice; send each id once"))
    if problems:
        raise ValidationFailed(problems)


async def _load_alive(w: Writer, contact_id: UUID) -> sa.RowMapping:
    row = await w.load(CONTACT, {"id": contact_id})
    if row is None:
        raise NotFound("contact", contact_id)
    if row["cl"] % 2 == 0:
        if row["merged_into"] is not None:
            raise ContactMerged(contact_id, row["merged_into"])
        raise ContactDeleted(contact_id)
    return row


async def _move_interactions(w: Writer, keep_id: UUID, merge_ids: list[UUID]) -> None:
    """Put the survivor in place of the merged contacts in every interaction they took part in.

    Each changed interaction's ``contactIds`` takes the server's clock, as an online edit of
    the participants would, so it wins over every earlier edit and syncs to every device.
    """
    moved = (
        await w.conn.execute(
            sa.select(_p.c.interaction_id, _p.c.occurred_at, _p.c.alive)
            .where(_p.c.owner_id == w.owner_id, _p.c.contact_id.in_(merge_ids))
            .distinct()
        )
    ).all()
    if not moved:
        return
    await w.conn.execute(
        pg_insert(_p).on_conflict_do_nothing(),
        [
            {
                "owner_id": w.owner_id,
                "interaction_id": row.interaction_id,
                "contact_id": keep_id,
                "occurred_at": row.occurred_at,
                "alive": row.alive,
            }
            for row in moved
        ],
    )
    await w.conn.execute(
        sa.delete(_p).where(_p.c.owner_id == w.owner_id, _p.c.contact_id.in_(merge_ids))
    )
    i = tables.interactions.c
    await w.conn.execute(
        sa.update(tables.interactions)
        .where(i.owner_id == w.owner_id, i.id.in_([row.interaction_id for row in moved]))
        .values(
            field_hlc=i.field_hlc.op("||")(sa.func.jsonb_build_object("contactIds", w.stamp)),
            server_version=w.version,
            updated_at=w.now,
        )
    )
    w.changed = True


async def _move_tags(w: Writer, keep_id: UUID, merge_ids: list[UUID]) -> None:
    t = tables.contact_tags.c
    rows = (
        await w.conn.execute(
            sa.select(t.tag_id, t.contact_id).where(
                t.owner_id == w.owner_id, t.contact_id.in_(merge_ids), t.cl % 2 == 1
            )
        )
    ).all()
    for row in rows:
        await w.insert_membership(CONTACT_TAG, {"tag_id": row.tag_id, "contact_id": keep_id}, True)
        key = {"tag_id": row.tag_id, "contact_id": row.contact_id}
        await w.insert_membership(CONTACT_TAG, key, False)


async def _move_attendance(w: Writer, keep_id: UUID, merge_ids: list[UUID]) -> None:
    a = tables.event_attendees.c
    rows = (
        await w.conn.execute(
            sa.select(a.event_id, a.contact_id, a.status, a.note)
            .where(a.owner_id == w.owner_id, a.contact_id.in_(merge_ids), a.cl % 2 == 1)
            .order_by(a.event_id, a.contact_id)
        )
    ).all()
    for row in rows:
        key = {"event_id": row.event_id, "contact_id": keep_id}
        existing = await w.load(EVENT_ATTENDEE, key)
        kept, _ = await w.insert_membership(EVENT_ATTENDEE, key, True)
        assert kept is not None
        values: dict[str, Any] = {}
        if existing is None or existing["cl"] % 2 == 0:
            values = {"status": row.status, "note": row.note}
        elif kept["note"] is None and row.note is not None:
            values = {"note": row.note}
        if values:
            await w.put(EVENT_ATTENDEE, key, values)
        gone = {"event_id": row.event_id, "contact_id": row.contact_id}
        await w.insert_membership(EVENT_ATTENDEE, gone, False)


async def _move_reminders(w: Writer, keep_id: UUID, merge_ids: list[UUID]) -> None:
    r = tables.reminders.c
    ids = (
        await w.conn.scalars(
            sa.select(r.id).where(r.owner_id == w.owner_id, r.contact_id.in_(merge_ids))
        )
    ).all()
    for reminder_id in ids:
        await w.put(REMINDER, {"id": reminder_id}, {"contactId": keep_id})


async def _move_introductions(w: Writer, keep_id: UUID, merge_ids: list[UUID]) -> None:
    """Whom a merged contact introduced, the survivor introduced."""
    ids = (
        await w.conn.scalars(
            sa.select(_c.id).where(
                _c.owner_id == w.owner_id,
                _c.introduced_by_id.in_(merge_ids),
                _c.id.not_in([keep_id, *merge_ids]),
            )
        )
    ).all()
    for contact_id in ids:
        await w.put(CONTACT, {"id": contact_id}, {"introducedById": keep_id})


async def merge_contacts(w: Writer, keep_id: UUID, merge_ids: Sequence[UUID]) -> sa.RowMapping:
    """Merge ``merge_ids`` into ``keep_id``; return the survivor as it is now."""
    _check_ids(keep_id, merge_ids)
    merge_list = list(merge_ids)
    # Locked in id order, whatever order the caller named them in.
    rows = {cid: await _load_alive(w, cid) for cid in sorted([keep_id, *merge_list])}
    keep = rows[keep_id]
    others = [rows[cid] for cid in merge_list]
    changes = merged_fields(keep, others, set(merge_list))
    values = validate_patch(ContactPatch, changes, creating=False)
    await _move_interactions(w, keep_id, merge_list)
    await _move_tags(w, keep_id, merge_list)
    await _move_attendance(w, keep_id, merge_list)
    await _move_reminders(w, keep_id, merge_list)
    await _move_introductions(w, keep_id, merge_list)
    for cid in merge_list:
        await w.set_alive(CONTACT, {"id": cid}, alive=False)
    # The tombstones name their survivor, and so do those that named a merged contact.
    await w.conn.execute(
        sa.update(tables.contacts)
        .where(
            _c.owner_id == w.owner_id,
            sa.or_(_c.id.in_(merge_list), _c.merged_into.in_(merge_list)),
        )
        .values(merged_into=keep_id, server_version=w.version, updated_at=w.now)
    )
    if w.cache is not None:
        w.cache = {k: v for k, v in w.cache.items() if k[0] != "contact"}
    row, _ = await w.put(CONTACT, {"id": keep_id}, values, must_exist=True)
    w.touched_contacts.update([keep_id, *merge_list])
    return (await w.flush()).get(keep_id, row)


async def redirect_contacts(w: Writer, contact_ids: Sequence[UUID]) -> dict[UUID, UUID]:
    """Check the ids name contacts of the owner (deleted ones count); map merged ones to their
    survivors. Raise NotFound for the first id that names no contact."""
    found = {
        row.id: row.merged_into
        for row in await w.conn.execute(
            sa.select(_c.id, _c.merged_into).where(
                _c.owner_id == w.owner_id, _c.id.in_(list(contact_ids))
            )
        )
    }
    for contact_id in contact_ids:
        if contact_id not in found:
            raise NotFound("contact", contact_id)
    return {cid: survivor for cid, survivor in found.items() if survivor is not None}


async def survivors(w: Writer, contact_ids: list[UUID]) -> list[UUID]:
    """Check the ids name contacts of the owner; put a merged contact's survivor in its place.

    A device that has not pulled a merge yet still refers to the merged contacts (a meeting
    logged offline, a tag added); the reference lands on the survivor, where the merge moved
    everything else, and the device pulls the row as it was stored.
    """
    redirect = await redirect_contacts(w, contact_ids)
    return list(dict.fromkeys(redirect.get(cid, cid) for cid in contact_ids))
