"""LinkedIn's connections export (Connections.csv) to contact entries.

The file opens with a few "Notes:" lines, then a header (First Name, Last Name, URL, Email
Address, Company, Position, Connected On) and one row per connection.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from transfer.entry import Entry, MalformedFile, Problem

HEADER = ("First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On")
REQUIRED = ("First Name", "Last Name")
# How LinkedIn writes the day of a connection ("15 Mar 2021"), and an ISO date just in case.
_DATE_FORMATS = ("%d %b %Y", "%Y-%m-%d")


def parse_connections(text: str) -> list[Entry]:
    """Read every connection; raise MalformedFile naming the line of the first fault."""
    lines = text.splitlines(keepends=True)
    header_at = next(
        (n for n, line in enumerate(lines) if line.lstrip('\ufeff"').startswith("First Name")),
        None,
    )
    if header_at is None:
        raise MalformedFile(
            1, f"no header line found; LinkedIn's Connections.csv has one: {','.join(HEADER)}"
        )
    reader = csv.reader(io.StringIO("".join(lines[header_at:])), strict=True)
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
                Problem(line, f"Connected On {connected!r} is not a date like 15 Mar 2021")
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
