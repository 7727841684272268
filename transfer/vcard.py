"""vCard 3.0 and 4.0 (RFC 2426, RFC 6350) to contact entries, read with vobject.

A file is split into cards here, so a problem names the line it is on: vobject's own line
numbers count folded and CRLF-ended lines inconsistently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import vobject
from vobject.base import ParseError, VObjectError

from transfer.entry import Entry, MalformedFile, Problem

# TYPE values that say how to reach someone rather than which address this is.
_NOT_LABELS = {"internet", "pref", "voice", "x400", "text", "uri", "x-internet"}
# Apple writes the year 1604 (with X-APPLE-OMIT-YEAR=1604) for a birthday without one.
APPLE_NO_YEAR = "1604"
# 1985-04-12, 19850412, --0412, --04-12 (vCard 4 and ISO 8601 without a year), with or
# without a time after it.
_BIRTHDAY = re.compile(r"^(?:(\d{4})|--)-?(\d{2})-?(\d{2})(?:$|T)")
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
_FAILED_LINE = re.compile(r"Failed to parse line: (.*)$", re.DOTALL)


def parse_vcards(text: str, tick: Callable[[int], None] | None = None) -> list[Entry]:
    """Read every card of a vCard file; raise MalformedFile naming the line of the first fault.

    ``tick`` hears of each card read (parsing is most of an import's time).
    """
    entries: list[Entry] = []
    for start, lines in split_cards(text):
        entries.append(_read_card(start, lines))
        if tick is not None:
            tick(1)
    return entries


def split_cards(text: str) -> Iterator[tuple[int, list[str]]]:
    """Yield each card's first line number and its lines, BEGIN:VCARD to END:VCARD."""
    start = 0
    card: list[str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        # A folded line starts with white space: only an unfolded line begins or ends a card.
        word = line.rstrip().upper()
        if card is None:
            if word == "BEGIN:VCARD":
                start, card = number, [line]
            elif word:
                raise MalformedFile(number, f"expected BEGIN:VCARD, found {_clip(line)!r}")
            continue
        if word == "BEGIN:VCARD":
            raise MalformedFile(start, "this vCard has no END:VCARD before the next BEGIN:VCARD")
        card.append(line)
        if word == "END:VCARD":
            yield start, card
            card = None
    if card is not None:
        raise MalformedFile(start, "this vCard has no END:VCARD")


def _read_card(start: int, lines: list[str]) -> Entry:
    try:
        card = vobject.readOne("\r\n".join(lines) + "\r\n")
    except (ParseError, VObjectError, ValueError, TypeError) as exc:
        raise MalformedFile(_failed_line(start, lines, exc), _reason(exc)) from None
    entry = Entry(start, {})
    try:
        _fill(entry, card)
    except (VObjectError, ValueError, TypeError, AttributeError) as exc:
        raise MalformedFile(start, f"this vCard cannot be read: {_reason(exc)}") from None
    return entry


def _failed_line(start: int, lines: list[str], exc: Exception) -> int:
    found = _FAILED_LINE.search(str(exc))
    if found is not None:
        bad = found.group(1).strip()
        for offset, line in enumerate(lines):
            if line.strip() == bad:
                return start + offset
    return start


def _reason(exc: Exception) -> str:
    text = re.sub(r"^At line \d+: ", "", str(exc)) or type(exc).__name__
    return _clip(text)


def _clip(text: str) -> str:
    return text if len(text) <= 120 else f"{text[:117]}..."


def _fill(entry: Entry, card: Any) -> None:
    contents: dict[str, list[Any]] = card.contents
    labels = {
        line.group: _label_text(str(line.value))
        for line in contents.get("x-ablabel", [])
        if line.group
    }
    values = entry.values
    first, last = _names(contents)
    company = _company(contents)
    if not first and company:
        # A card for a company alone (address books allow it): the company names it.
        first = company
    if first:
        values["firstName"] = first
    if last:
        values["lastName"] = last
    if company:
        values["company"] = company
    if title := _text(contents, "title"):
        values["title"] = title
    if note := _text(contents, "note"):
        values["notes"] = note
    emails = [_labelled(line, labels) for line in contents.get("email", [])]
    phones = [_labelled(line, labels, prefix="tel:") for line in contents.get("tel", [])]
    urls = [_labelled(line, labels, url=True) for line in contents.get("url", [])]
    for name, items in (("emails", emails), ("phones", phones), ("urls", urls)):
        kept = [item for item in items if item["value"]]
        if kept:
            values[name] = kept
    for line in contents.get("bday", [])[:1]:
        birthday = parse_birthday(str(line.value), omit_year=line.params.get("X-APPLE-OMIT-YEAR"))
        if birthday is None:
            entry.problems.append(
                Problem(entry.line, f"BDAY {_clip(str(line.value))!r} is not a date; left out")
            )
        else:
            values["birthday"] = birthday


def _names(contents: dict[str, list[Any]]) -> tuple[str, str]:
    for line in contents.get("n", [])[:1]:
        name = line.value
        given = _joined(getattr(name, "given", ""))
        family = _joined(getattr(name, "family", ""))
        if given or family:
            return (given, family) if given else (family, "")
    full = _text(contents, "fn")
    first, _, rest = full.partition(" ")
    return first, rest.strip()


def _company(contents: dict[str, list[Any]]) -> str:
    for line in contents.get("org", [])[:1]:
        value = line.value
        parts = value if isinstance(value, list) else [value]
        return _joined(parts[:1])
    return ""


def _joined(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


def _text(contents: dict[str, list[Any]], name: str) -> str:
    for line in contents.get(name, [])[:1]:
        return _joined(line.value)
    return ""


def _labelled(
    line: Any, labels: dict[str, str], *, prefix: str = "", url: bool = False
) -> dict[str, str]:
    value = _joined(line.value)
    if prefix and value.lower().startswith(prefix):
        value = value[len(prefix) :]
    if url and value and "://" not in value:
        value = f"https://{value}"
    label = labels.get(line.group or "", "")
    if not label:
        types = [
            t.strip().lower() for raw in line.params.get("TYPE", []) for t in str(raw).split(",")
        ]
        label = next((t for t in types if t and t not in _NOT_LABELS), "")
    return {"label": label[:50], "value": value}


def _label_text(value: str) -> str:
    found = _APPLE_LABEL.match(value)
    return (found.group(1) if found else value).strip()


def parse_birthday(value: str, *, omit_year: list[str] | None = None) -> dict[str, int] | None:
    """Return a birthday as month, day and (when known) year; None when it is no date."""
    found = _BIRTHDAY.match(value.strip())
    if found is None:
        return None
    year, month, day = found.groups()
    birthday = {"month": int(month), "day": int(day)}
    if year is not None and year != APPLE_NO_YEAR and year not in (omit_year or []):
        birthday["year"] = int(year)
    return birthday
