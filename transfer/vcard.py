"""vCard 3.0 and 4.0 (RFC 2426, RFC 6350), and 2.1's quoted-printable, to contact entries.

The file is split into cards here, and each card is read with vobject's line reader
(``getLogicalLines`` unfolds, ``parseLine`` splits name, group, parameters and value), and
values are unescaped here (``_unescape``). vobject's object model on top (``readComponents``) is not
used: it costs about 0.6 ms of CPU a card, most of an import of 10,000 cards
(bench/RESULTS.md), and its line numbers count CRLF-ended lines twice.
"""

from __future__ import annotations

import codecs
import io
import quopri
import re
from collections.abc import Iterable, Iterator

from vobject.base import ParseError, getLogicalLines, parseLine

from transfer.entry import Entry, MalformedFile, Problem
from transfer.lines import strip_ending
from transfer.vcard_writer import HOW_WE_MET

# TYPE values that say how to reach someone rather than which address this is.
_NOT_LABELS = {"internet", "pref", "voice", "x400", "text", "uri", "x-internet"}
# Apple writes the year 1604 (with X-APPLE-OMIT-YEAR=1604) for a birthday without one.
APPLE_NO_YEAR = "1604"
# 1985-04-12, 19850412, --0412, --04-12 (vCard 4 and ISO 8601 without a year), with or
# without a time after it.
_BIRTHDAY = re.compile(r"^(?:(\d{4})|--)-?(\d{2})-?(\d{2})(?:$|T)")
_APPLE_LABEL = re.compile(r"^_\$!<(.*)>!\$_$")
# The properties an import reads; the rest (photos, addresses, keys) are passed over.
_READ = {"N", "FN", "ORG", "TITLE", "NOTE", "EMAIL", "TEL", "URL", "BDAY", "X-ABLABEL", HOW_WE_MET}
# A backslash and the character after it (or the end), or a run of anything else.
_ESCAPED = re.compile(r"\\(.?)|[^\\]+", re.DOTALL)


class _Line:
    __slots__ = ("group", "line", "params", "value")

    def __init__(self, line: int, group: str, params: dict[str, list[str]], value: str) -> None:
        self.line = line
        self.group = group
        self.params = params
        self.value = value


def parse_vcards(lines: Iterable[str]) -> list[Entry]:
    """Read every card of a vCard file's lines (``transfer.lines``); raise MalformedFile
    naming the line of the first fault."""
    return [_read_card(start, card) for start, card in split_cards(lines)]


def split_cards(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """Yield each card's first line number and its lines, BEGIN:VCARD to END:VCARD."""
    start = 0
    card: list[str] | None = None
    for number, ending in enumerate(lines, start=1):
        line = strip_ending(ending)
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
    contents: dict[str, list[_Line]] = {}
    problems: list[Problem] = []
    # Inside the card, lines count from BEGIN:VCARD; vobject numbers the first line 0.
    for logical, number in getLogicalLines(io.StringIO("\n".join(lines[1:-1]))):
        at = start + max(number, 1)
        try:
            name, params, value, group = parseLine(logical, at)
        except ParseError:
            raise MalformedFile(
                at, f"not a vCard line (NAME:value, or NAME;PARAM=x:value): {_clip(logical)!r}"
            ) from None
        name = name.upper()
        if name in _READ:
            read = _Line(at, group or "", _params(params), value)
            if problem := _decode(read):
                problems.append(Problem(at, f"{name}: {problem}"))
            contents.setdefault(name, []).append(read)
    entry = Entry(start, {}, problems)
    _fill(entry, contents)
    return entry


def _params(raw: list[list[str]]) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, *values in raw:
        if values:
            params.setdefault(name.upper(), []).extend(values)
        else:
            # vCard 2.1 names a type alone: TEL;CELL:...
            params.setdefault("TYPE", []).append(name)
    return params


def _decode(line: _Line) -> str | None:
    """Decode a vCard 2.1 quoted-printable value in place; say what could not be decoded."""
    if not any(e.upper() == "QUOTED-PRINTABLE" for e in line.params.get("ENCODING", [])):
        return None
    raw = quopri.decodestring(line.value.encode())
    charset = (line.params.get("CHARSET") or ["utf-8"])[0]
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    try:
        line.value = raw.decode(charset)
    except UnicodeDecodeError as exc:
        # Kept, but not silently: the owner is told which value to check.
        line.value = raw.decode(charset, errors="replace")
        return f"byte 0x{raw[exc.start]:02x} is not {charset} text; replaced with U+FFFD"
    return None


def _values(line: _Line, separator: str | None = None) -> list[str]:
    """The value's parts (split at ``separator``, or one part if None), unescaped."""
    value = line.value
    if "\\" not in value:
        return [value] if separator is None else value.split(separator)
    return _unescape(value, separator)


def _unescape(value: str, separator: str | None) -> list[str]:
    """Undo vCard's escapes (backslash-n, -comma, -semicolon, -backslash), splitting at an
    unescaped ``separator``.

    vobject's ``stringToTextValues`` always splits at some separator (so a NUL used as "none"
    cut a value short) and reads a trailing backslash as "\\eof".
    """
    parts: list[str] = []
    current: list[str] = []
    for found in _ESCAPED.finditer(value):
        escaped = found.group(1)
        if escaped is None:
            run = found.group()
            pieces = [run] if separator is None else run.split(separator)
            current.append(pieces[0])
            for piece in pieces[1:]:
                parts.append("".join(current))
                current = [piece]
        elif escaped in ("n", "N"):
            current.append("\n")
        elif escaped in ("\\", ";", ",", '"'):
            current.append(escaped)
        else:
            # Not an escape vCard knows (or a backslash at the end): kept as written.
            current.append(f"\\{escaped}")
    parts.append("".join(current))
    return parts


def _clip(text: str) -> str:
    return text if len(text) <= 120 else f"{text[:117]}..."


def _fill(entry: Entry, contents: dict[str, list[_Line]]) -> None:
    labels = {
        line.group.upper(): _label_text(_text_of(line))
        for line in contents.get("X-ABLABEL", [])
        if line.group
    }
    values = entry.values
    first, last = _names(contents)
    company = _first_part(contents, "ORG")
    if not first and company:
        # A card for a company alone (address books allow it): the company names it.
        first = company
    if first:
        values["firstName"] = first
    if last:
        values["lastName"] = last
    if company:
        values["company"] = company
    if title := _text(contents, "TITLE"):
        values["title"] = title
    if note := _text(contents, "NOTE"):
        values["notes"] = note
    if how := _text(contents, HOW_WE_MET):
        values["howWeMet"] = how
    emails = [_labelled(line, labels) for line in contents.get("EMAIL", [])]
    phones = [_labelled(line, labels, prefix="tel:") for line in contents.get("TEL", [])]
    urls = [_labelled(line, labels, url=True) for line in contents.get("URL", [])]
    for name, items in (("emails", emails), ("phones", phones), ("urls", urls)):
        kept = [item for item in items if item["value"]]
        if kept:
            values[name] = kept
    for line in contents.get("BDAY", [])[:1]:
        text = _text_of(line)
        birthday = parse_birthday(text, omit_year=line.params.get("X-APPLE-OMIT-YEAR"))
        if birthday is None:
            entry.problems.append(
                Problem(line.line, f"BDAY {_clip(text)!r} is not a date; left out")
            )
        else:
            values["birthday"] = birthday


def _names(contents: dict[str, list[_Line]]) -> tuple[str, str]:
    for line in contents.get("N", [])[:1]:
        # Family; Given; Additional; Prefixes; Suffixes
        parts = [*_values(line, ";"), "", ""]
        family, given = parts[0].strip(), parts[1].strip()
        if given or family:
            return (given, family) if given else (family, "")
    full = _text(contents, "FN")
    first, _, rest = full.partition(" ")
    return first, rest.strip()


def _first_part(contents: dict[str, list[_Line]], name: str) -> str:
    for line in contents.get(name, [])[:1]:
        return _values(line, ";")[0].strip()
    return ""


def _text_of(line: _Line) -> str:
    return _values(line)[0].strip()


def _text(contents: dict[str, list[_Line]], name: str) -> str:
    for line in contents.get(name, [])[:1]:
        return _text_of(line)
    return ""


def _labelled(
    line: _Line, labels: dict[str, str], *, prefix: str = "", url: bool = False
) -> dict[str, str]:
    value = _text_of(line)
    if prefix and value.lower().startswith(prefix):
        value = value[len(prefix) :]
    if url and value and "://" not in value:
        value = f"https://{value}"
    label = labels.get(line.group.upper(), "")
    if not label:
        types = [t.strip() for raw in line.params.get("TYPE", []) for t in str(raw).split(",")]
        label = next((t for t in types if t and t.lower() not in _NOT_LABELS), "")
        if label.isupper():
            label = label.lower()  # WORK, CELL: the usual types, written as the API does
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
