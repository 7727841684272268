"""The export archive: everything an owner keeps, as a zip streamed while it is read.

One read-only, repeatable-read transaction gives every file the same snapshot (the caller
opens it: api/export.py reads the replica once it holds every commit made before the download
started, else the primary; store/replica.py). Each file is
read through a server-side cursor a page at a time and each row is turned into JSON by
PostgreSQL, so memory stays flat however many rows there are (bench/export.py). Deleted rows
(tombstones kept for sync) and sync bookkeeping (clocks, versions) are left out; so are
secrets: password hashes and push tokens.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from stream_zip import ZIP_64, async_stream_zip

from notifications.ics import build_calendar
from store.calendar import load_calendar_rows
from transfer.vcard_writer import write_vcard

PAGE = 1_000
# Columns of every synced table that only sync needs.
_SYNC = "- 'owner_id' - 'field_hlc' - 'cl' - 'server_version'"

# File name, and the SQL giving one JSON object (text) per row of the owner (:owner).
JSON_FILES: tuple[tuple[str, str], ...] = (
    (
        "contacts.json",
        f"SELECT (to_jsonb(t) {_SYNC} - 'search_text')::text FROM contacts t "
        "WHERE t.owner_id = :owner AND t.cl % 2 = 1 ORDER BY t.id",
    ),
    (
        "interactions.json",
        f"SELECT (to_jsonb(t) {_SYNC} || jsonb_build_object('contact_ids', ARRAY("
        "SELECT p.contact_id FROM interaction_participants p WHERE p.owner_id = t.owner_id "
        "AND p.interaction_id = t.id AND p.alive ORDER BY p.contact_id)))::text "
        "FROM interactions t WHERE t.owner_id = :owner AND t.cl % 2 = 1 ORDER BY t.id",
    ),
    (
        "introductions.json",
        f"SELECT (to_jsonb(t) {_SYNC} || jsonb_build_object('contact_ids', ARRAY("
        "SELECT p.contact_id FROM interaction_participants p WHERE p.owner_id = t.owner_id "
        "AND p.interaction_id = t.id AND p.alive ORDER BY p.contact_id)))::text "
        "FROM interactions t WHERE t.owner_id = :owner AND t.cl % 2 = 1 "
        "AND t.kind = 'INTRODUCTION' ORDER BY t.id",
    ),
    (
        "tags.json",
        f"SELECT (to_jsonb(t) {_SYNC} - 'name_key' || jsonb_build_object('contact_ids', ARRAY("
        "SELECT m.contact_id FROM contact_tags m WHERE m.owner_id = t.owner_id "
        "AND m.tag_id = t.id AND m.cl % 2 = 1 ORDER BY m.contact_id)))::text "
        "FROM tags t WHERE t.owner_id = :owner AND t.cl % 2 = 1 ORDER BY t.id",
    ),
    (
        "reminders.json",
        f"SELECT (to_jsonb(t) {_SYNC})::text FROM reminders t "
        "WHERE t.owner_id = :owner AND t.cl % 2 = 1 ORDER BY t.id",
    ),
    (
        "goals.json",
        f"SELECT (to_jsonb(t) {_SYNC})::text FROM goals t "
        "WHERE t.owner_id = :owner AND t.cl % 2 = 1 ORDER BY t.id",
    ),
    (
        "events.json",
        f"SELECT (to_jsonb(t) {_SYNC} || jsonb_build_object('attendees', COALESCE(("
        f"SELECT jsonb_agg(to_jsonb(a) {_SYNC} - 'event_id' ORDER BY a.contact_id) "
        "FROM event_attendees a WHERE a.owner_id = t.owner_id AND a.event_id = t.id "
        "AND a.cl % 2 = 1), '[]'::jsonb)))::text "
        "FROM events t WHERE t.owner_id = :owner AND t.cl % 2 = 1 ORDER BY t.id",
    ),
    (
        "notifications.json",
        "SELECT (to_jsonb(t) - 'owner_id' - 'lease_until' - 'leased_by' || "
        "jsonb_build_object('deliveries', COALESCE((SELECT jsonb_agg(to_jsonb(d) - 'owner_id' "
        "- 'notification_id' ORDER BY d.attempted_at) FROM notification_deliveries d "
        "WHERE d.owner_id = t.owner_id AND d.notification_id = t.id), '[]'::jsonb)))::text "
        "FROM scheduled_notifications t WHERE t.owner_id = :owner "
        "AND (t.status <> 'PENDING' OR t.attempts > 0) ORDER BY t.send_at, t.id",
    ),
    (
        "devices.json",
        "SELECT (to_jsonb(t) - 'owner_id' - 'token')::text FROM devices t "
        "WHERE t.owner_id = :owner ORDER BY t.created_at, t.id",
    ),
    (
        "duplicate_dismissals.json",
        "SELECT (to_jsonb(t) - 'owner_id')::text FROM duplicate_dismissals t "
        "WHERE t.owner_id = :owner ORDER BY t.contact_a, t.contact_b",
    ),
    # The owner's own side of each colleague link, and what crossed it (sync/colleague*.py);
    # the other account's user id stays out, its name and email as the link recorded them.
    (
        "colleagues.json",
        "SELECT (to_jsonb(t) - 'owner_id' - 'peer_id' - 'peer_synced')::text FROM colleagues t "
        "WHERE t.owner_id = :owner ORDER BY t.linked_at, t.id",
    ),
    (
        "colleague_invitations.json",
        "SELECT (to_jsonb(t) - 'inviter_id' - 'email_hash')::text FROM colleague_invitations t "
        "WHERE t.inviter_id = :owner ORDER BY t.created_at, t.id",
    ),
    (
        "shared_cards.json",
        "SELECT (to_jsonb(t) - 'owner_id' - 'peer_synced')::text FROM shared_cards t "
        "WHERE t.owner_id = :owner ORDER BY t.created_at, t.id",
    ),
    (
        "introduction_requests.json",
        "SELECT (to_jsonb(t) - 'owner_id' - 'peer_synced')::text FROM introduction_requests t "
        "WHERE t.owner_id = :owner ORDER BY t.created_at, t.id",
    ),
    (
        "settings.json",
        "SELECT (to_jsonb(t) - 'password_hash' - 'firebase_uid')::text FROM users t "
        "WHERE t.id = :owner",
    ),
)
_CONTACT_COLUMNS = (
    "id, first_name, last_name, company, title, emails, phones, urls, birthday_month, "
    "birthday_day, birthday_year, how_we_met, notes, updated_at"
)
CONTACTS_VCF = (
    f"SELECT {_CONTACT_COLUMNS} FROM contacts WHERE owner_id = :owner AND cl % 2 = 1 ORDER BY id"
)
Member = tuple[str, datetime, int, Any, AsyncIterator[bytes]]
# Opens a read-only, repeatable-read transaction (store.replica.snapshot_after).
Snapshot = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


async def stream_archive(
    snapshot: Snapshot, owner_id: UUID, now: datetime
) -> AsyncGenerator[bytes, None]:
    """Yield the owner's export as zip bytes, reading the snapshot as the client downloads."""
    async with snapshot() as conn:
        async for chunk in async_stream_zip(_members(conn, owner_id, now)):
            yield chunk


async def _members(conn: AsyncConnection, owner_id: UUID, now: datetime) -> AsyncIterator[Member]:
    for name, sql in JSON_FILES:
        yield name, now, 0o600, ZIP_64, _json_array(conn, sql, owner_id)
    yield "contacts.vcf", now, 0o600, ZIP_64, _each_row(conn, CONTACTS_VCF, owner_id, write_vcard)
    yield "calendar.ics", now, 0o600, ZIP_64, _calendar(conn, owner_id, now)


async def _pages(conn: AsyncConnection, sql: str, owner_id: UUID) -> AsyncIterator[list[Any]]:
    result = await conn.stream(sa.text(sql).execution_options(yield_per=PAGE), {"owner": owner_id})
    async for page in result.partitions(PAGE):
        yield list(page)


async def _json_array(conn: AsyncConnection, sql: str, owner_id: UUID) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for page in _pages(conn, sql, owner_id):
        parts = [] if first else [b""]
        parts.extend(row[0].encode() for row in page)
        first = False
        yield b",\n".join(parts)
    yield b"]\n"


async def _each_row(
    conn: AsyncConnection, sql: str, owner_id: UUID, write: Callable[[Any], str]
) -> AsyncIterator[bytes]:
    async for page in _pages(conn, sql, owner_id):
        yield "".join(write(row._mapping) for row in page).encode()


async def _calendar(conn: AsyncConnection, owner_id: UUID, now: datetime) -> AsyncIterator[bytes]:
    # The calendar feed's text (api/calendar_feed.py), from the same rows, in this snapshot.
    time_zone, contacts, reminders = await load_calendar_rows(conn, owner_id=owner_id)
    yield build_calendar(time_zone=time_zone, contacts=contacts, reminders=reminders, now=now)


def file_names() -> Iterable[str]:
    """Every file an archive holds."""
    return [*(name for name, _ in JSON_FILES), "contacts.vcf", "calendar.ics"]
