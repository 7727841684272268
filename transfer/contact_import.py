"""Import contacts from a file through the write path, in one transaction.

Each entry of the file is matched against the owner's living contacts (and the entries before
it) by email, then phone, then profile URL, then first and last name with company. A match
gains what it lacks: new emails, phones and URLs, and the single-valued fields it has empty;
nothing the owner wrote is overwritten. No match creates a contact. So importing the same file
again changes nothing, and every change reaches devices as any write does.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, BinaryIO
from urllib.parse import urlsplit
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import Clock
from model.errors import FieldError, ValidationFailed
from store import imports, tables
from sync.entity import CONTACT, new_id
from sync.importer import import_rows
from sync.writer import Writer, begin_write
from transfer.entry import LIST_FIELDS, Entry, Problem, check_entry
from transfer.lines import read_lines
from transfer.linkedin import parse_connections
from transfer.vcard import parse_vcards

# A phone book of a long career has a few thousand people; LinkedIn caps connections at 30,000.
MAX_ENTRIES = 50_000
MAX_ITEMS = 20  # emails, phones and URLs a contact holds (model.patches.ContactPatch)
# Filled only where the contact has nothing yet.
SINGLE_FIELDS = ("lastName", "company", "title", "birthday", "notes", "howWeMet")
INSERT_CHUNK = 1_000
# An answer lists this many problems at most, then says how many more there were.
MAX_PROBLEMS = 500

Tick = Callable[[int], None]


class ImportRunning(Exception):
    """Another import into this account is under way; this one was not started."""


class ImportFormat(StrEnum):
    VCARD = "VCARD"
    LINKEDIN_CSV = "LINKEDIN_CSV"


@dataclass
class ImportSummary:
    """Every entry of the file is counted once: created, updated or skipped."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


async def import_file(
    engine: AsyncEngine,
    owner_id: UUID,
    clock: Clock,
    stream: BinaryIO,
    fmt: ImportFormat,
    *,
    reading: Tick | None = None,
    writing: Tick | None = None,
) -> ImportSummary:
    """Parse a file (in a thread: vCard parsing is CPU work) and import it in one transaction.

    One import per owner at a time: the owner's import lock is taken before the file is read,
    so imports sent at once (to any API process) cannot each hold a file's entries in memory.
    Raises ImportRunning, MalformedFile or ValidationFailed with nothing written.
    """
    async with engine.begin() as conn:
        if not await imports.try_lock_imports(conn, owner_id=owner_id):
            raise ImportRunning
        entries = await asyncio.to_thread(read_file, stream, fmt, reading)
        # The owner's version row is locked only now: their other writes wait for the
        # import's writing, not for its parsing.
        w = await begin_write(conn, owner_id, clock)
        summary = await import_contacts(w, entries, writing)
        await w.finish()
    if len(summary.problems) > MAX_PROBLEMS:
        more = len(summary.problems) - MAX_PROBLEMS
        last = summary.problems[MAX_PROBLEMS - 1].line
        summary.problems = [
            *summary.problems[: MAX_PROBLEMS - 1],
            Problem(last, f"and {more + 1:,} more problems after this line"),
        ]
    return summary


def read_file(stream: BinaryIO, fmt: ImportFormat, tick: Tick | None = None) -> list[Entry]:
    """Parse and check a file's entries; raise MalformedFile or ValidationFailed (too many).

    The file is read a line at a time (``transfer.lines``); ``tick`` hears of each entry read.
    """
    lines = read_lines(stream)
    entries = parse_vcards(lines) if fmt is ImportFormat.VCARD else parse_connections(lines)
    if len(entries) > MAX_ENTRIES:
        raise ValidationFailed(
            [
                FieldError(
                    "file",
                    f"holds {len(entries):,} contacts; import at most {MAX_ENTRIES:,} at once "
                    "(split the file)",
                )
            ]
        )
    for entry in entries:
        # Checked here, in the caller's thread: outside the transaction and the event loop.
        entry.checked = check_entry(entry)
        if tick is not None:
            tick(1)
    return entries


@dataclass
class _Known:
    """A contact an entry may match: one of the owner's, or one this import creates."""

    id: UUID
    values: dict[str, Any]
    new: bool
    changes: dict[str, Any] = field(default_factory=dict)


class _Index:
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], _Known] = {}

    def find(self, values: dict[str, Any]) -> _Known | None:
        for key in match_keys(values):
            found = self.by_key.get(key)
            if found is not None:
                return found
        return None

    def add(self, known: _Known) -> None:
        for key in match_keys(known.values):
            self.by_key.setdefault(key, known)


async def import_contacts(
    w: Writer, entries: list[Entry], tick: Tick | None = None
) -> ImportSummary:
    """Apply checked entries (``read_file``) to the writer's owner.

    ``tick`` hears of entries as they are done.
    """
    summary = ImportSummary()
    index = _Index()
    for existing in await _living_contacts(w):
        index.add(existing)
    created: list[_Known] = []
    changed: dict[UUID, _Known] = {}
    for entry in entries:
        values = entry.checked
        creates = False
        if values is None:
            summary.skipped += 1
        elif (known := index.find(values)) is None:
            fresh = _Known(new_id(), values, new=True)
            created.append(fresh)
            index.add(fresh)
            summary.created += 1
            creates = True
        elif changes := _merge(known, values, entry):
            if not known.new:
                known.changes.update(changes)
                changed[known.id] = known
            index.add(known)
            summary.updated += 1
        else:
            summary.skipped += 1
        summary.problems.extend(entry.problems)
        if tick is not None and not creates:
            tick(1)  # a created entry counts once its row is written
    for start in range(0, len(created), INSERT_CHUNK):
        chunk = created[start : start + INSERT_CHUNK]
        await import_rows(w, CONTACT, [({"id": k.id}, k.values) for k in chunk])
        if tick is not None:
            tick(len(chunk))
    for known in changed.values():
        await w.put(CONTACT, {"id": known.id}, known.changes, alive_only=True)
    return summary


def _merge(known: _Known, values: dict[str, Any], entry: Entry) -> dict[str, Any]:
    """Return what ``values`` adds to ``known`` (and apply it to ``known.values``)."""
    changes: dict[str, Any] = {}
    for name in LIST_FIELDS:
        current: list[dict[str, Any]] = known.values.get(name) or []
        seen = {item_key(name, item["value"]) for item in current}
        added: list[dict[str, Any]] = []
        for item in values.get(name) or []:
            key = item_key(name, item["value"])
            if key not in seen:
                seen.add(key)
                added.append(item)
        room = MAX_ITEMS - len(current)
        if len(added) > room:
            entry.problems.append(
                Problem(
                    entry.line, f"{name}: a contact holds at most {MAX_ITEMS}; the rest left out"
                )
            )
            added = added[: max(room, 0)]
        if added:
            changes[name] = [*current, *added]
    for name in SINGLE_FIELDS:
        if values.get(name) not in (None, "") and known.values.get(name) in (None, ""):
            changes[name] = values[name]
    known.values.update(changes)
    return changes


def item_key(name: str, value: str) -> str:
    """The identity of an email, phone or URL: how two spellings of one are found equal."""
    if name == "emails":
        return value.strip().casefold()
    if name == "phones":
        return re.sub(r"\D", "", value)
    parts = urlsplit(value.strip().casefold())
    host = parts.netloc.removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}"


def match_keys(values: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """The keys an entry is matched on, strongest first."""
    for name in LIST_FIELDS:
        for item in values.get(name) or []:
            key = item_key(name, item["value"])
            # A phone of a few digits is an extension, not someone's identity.
            if key and (name != "phones" or len(key) >= 6):
                yield name, key
    first = (values.get("firstName") or "").strip().casefold()
    last = (values.get("lastName") or "").strip().casefold()
    company = (values.get("company") or "").strip().casefold()
    yield "name", f"{first}\x00{last}\x00{company}"


async def _living_contacts(w: Writer) -> list[_Known]:
    c = tables.contacts.c
    query = sa.select(
        c.id,
        c.first_name,
        c.last_name,
        c.company,
        c.title,
        c.emails,
        c.phones,
        c.urls,
        c.birthday_month,
        c.birthday_day,
        c.birthday_year,
        c.notes,
        c.how_we_met,
    ).where(c.owner_id == w.owner_id, c.cl % 2 == 1)
    known: list[_Known] = []
    for row in (await w.conn.execute(query)).mappings():
        birthday = None
        if row["birthday_month"] is not None:
            birthday = {
                "month": row["birthday_month"],
                "day": row["birthday_day"],
                "year": row["birthday_year"],
            }
        values = {
            "firstName": row["first_name"],
            "lastName": row["last_name"],
            "company": row["company"],
            "title": row["title"],
            "emails": row["emails"],
            "phones": row["phones"],
            "urls": row["urls"],
            "birthday": birthday,
            "notes": row["notes"],
            "howWeMet": row["how_we_met"],
        }
        known.append(_Known(row["id"], values, new=False))
    return known
