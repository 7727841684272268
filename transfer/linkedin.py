"""LinkedIn's connections export (Connections.csv) to contact entries.

The file opens with a few "Notes:" lines, then a header (First Name, Last Name, URL, Email
Address, Company, Position, Connected On) and one row per connection.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable
from datetime import datetime

from transfer.entry import Entry, MalformedFile, Problem

HEADER = ("First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On")
REQUIRED = ("First Name", "Last Name")
# How LinkedIn writes the day of a connection ("15 Mar 2021"), and an ISO date just in case.
_DATE_FORMATS = ("%d %b %Y", "%Y-%m-%d")


def parse_connections(lines: Iterable[str]) -> list[Entry]:
    """Read every connection of the file's lines (``transfer.lines``); raise MalformedFile
    naming the line of the first fault."""
    rows = iter(lines)
    header_at = 0
    for line in rows:
        if line.lstrip('\ufeff"').startswith("First Name"):
            break
        header_at += 1
    else:
        raise MalformedFile(
            1, f"no header line found; LinkedIn's Connections.csv has one: {','.join(HEADER)}"
        )
    reader = csv.reader(itertools.chain([line], rows), strict=True)
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader)]
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise MalformedFile(header_at + 1, f"the header has no {', '.join(missing)} column")
        entries: list[Entry] = []
        start = header_at + 2
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise MalformedFile(
                        start, f"expected {len(header)} fields as in the header, found {len(row)}"
                    )
                entries.append(_entry(start, dict(zip(header, row, strict=True))))
            start = header_at + reader.line_num + 1
    except csv.Error as exc:
        raise MalformedFile(header_at + reader.line_num, f"not valid CSV: {exc}") from None
    return entries


def _entry(line: int, row: dict[str, str]) -> Entry:
    entry = Entry(line, {})
    values = entry.values

    def put(name: str, column: str) -> None:
        if value := row.get(column, "").strip():
            values[name] = value

    put("firstName", "First Name")
    put("lastName", "Last Name")
    put("company", "Company")
    put("title", "Position")
    if url := row.get("URL", "").strip():
        values["urls"] = [{"label": "LinkedIn", "value": url}]
    if email := row.get("Email Address", "").strip():
        values["emails"] = [{"label": "", "value": email}]
    if connected := row.get("Connected On", "").strip():
        day = _parse_day(connected)
        if day is None:
            entry.problems.append(
                Problem(line, f"Connected On {_clip(connected)!r} is not a date like 15 Mar 2021")
            )
        else:
            values["howWeMet"] = f"Connected on LinkedIn on {day}"
    return entry


def _parse_day(text: str) -> str | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    return None


def _clip(text: str) -> str:
    return text if len(text) <= 80 else f"{text[:77]}..."
