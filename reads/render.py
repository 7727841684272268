"""SQL expressions that render values as the JSON text the resolver path writes.

The resolver path answers through Strawberry's serializers and orjson: compact JSON, keys in
selection order, non-ASCII characters as they are, ``isoformat()`` for dates and times. Each
function here takes a SQL expression and returns one that yields that exact text, or NULL when
the value is NULL (callers wrap nullable values in ``or_null``). PostgreSQL's
``json_build_object`` and ``json_agg`` add spaces and newlines, so objects and lists are
concatenated by hand instead; ``to_json`` of a single text value escapes exactly as orjson does
(``\\"``, ``\\\\``, the short escapes, ``\\u00XX`` in lower case for other control characters).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

# Python's str.strip() removes every character for which str.isspace() is true; the display
# name's btrim gets the same set as a bound parameter.
WHITESPACE = "".join(chr(code) for code in range(0x110000) if chr(code).isspace())


def literal(text: str) -> str:
    """Return ``text`` as a SQL string literal (standard_conforming_strings is on)."""
    return "'" + text.replace("'", "''") + "'"


def concat(parts: Sequence[str | Expr]) -> str:
    """Join literal text and SQL expressions with ``||``, merging neighbouring literals."""
    merged: list[str | Expr] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + part
        else:
            merged.append(part)
    rendered = [literal(p) if isinstance(p, str) else p.sql for p in merged]
    if not rendered:
        return "''"
    return rendered[0] if len(rendered) == 1 else "(" + " || ".join(rendered) + ")"


class Expr:
    """A SQL expression, as opposed to literal text, in a ``concat``."""

    __slots__ = ("sql",)

    def __init__(self, sql: str) -> None:
        self.sql = sql


def or_null(expr: str) -> str:
    """JSON ``null`` where ``expr`` is NULL."""
    return f"coalesce({expr}, 'null')"


def string(expr: str) -> str:
    return f"to_json(({expr})::text)::text"


def enum_value(expr: str) -> str:
    """An enum column, quoted without ``to_json``: the values are GraphQL enum names.

    Every write goes through the enum types in ``model.enums`` (the resolvers read the value back
    through them too), so a stored value is ``[A-Z_]+`` and needs no escaping; ``to_json`` would
    cost a type lookup per call for nothing.
    """
    return f"('\"' || ({expr})::text || '\"')"


def uuid(expr: str) -> str:
    return quoted(uuid_bare(expr))


def uuid_bare(expr: str) -> str:
    return f"({expr})::text"


def quoted(text: str) -> str:
    """A text that needs no escaping (a uuid, a timestamp) as a JSON string."""
    return f"('\"' || {text} || '\"')"


# How each renderer above writes its value before quoting it, for Row.once.
BARE: dict[Callable[[str], str], Callable[[str], str]] = {uuid: uuid_bare}


def number(expr: str) -> str:
    return f"({expr})::text"


def float_number(expr: str) -> str:
    """A float8 as orjson writes a Python float (the resolvers' ``Float``).

    Both print the shortest digits that read back as the same double; they differ only in
    layout. orjson writes plain decimals for 1e-5 <= |x| < 1e16, with ".0" when the value is
    whole, and otherwise an exponent with no zero padding ("1.5e-7", "1e+16"); PostgreSQL
    writes plain decimals only for 1e-4 <= |x| < 1e15, and pads the exponent ("1.5e-07").
    Assumes the default ``extra_float_digits`` (1: shortest) of PostgreSQL 12 and later.

    Two kinds of value fail the statement instead (their text is cast back to a number and is
    not one), so the resolvers answer: a non-finite one, which graphql-core refuses to
    serialize as a Float; and one of 1e16 or more, a whole number PostgreSQL 15 prints with
    all its digits ("1.8541223362625432e+16") where orjson prints the shortest
    ("1.854122336262543e+16"). Below 2**54 the two agree (tests/integration/test_read_render.py).
    """
    text = f"({expr})::text"
    mantissa = f"split_part({text}, 'e', 1)"
    exponent = f"split_part({text}, 'e', 2)::int"
    sign = f"CASE WHEN ({expr}) < 0 THEN '-' ELSE '' END"
    digits = f"translate({mantissa}, '-.', '')"
    return (
        # NaN is greater than every number in PostgreSQL, so this catches it too.
        f"CASE WHEN NOT abs({expr}) < 1e16 "
        f"THEN ({text} || ' is not printed as orjson prints it')::float8::text "
        f"WHEN {text} !~ '[.e]' THEN {text} || '.0' "
        f"WHEN {text} !~ 'e' THEN {text} "
        f"WHEN {exponent} BETWEEN -5 AND -1 "
        f"THEN {sign} || '0.' || repeat('0', -{exponent} - 1) || {digits} "
        f"WHEN {exponent} BETWEEN 0 AND 15 THEN {sign} || CASE "
        f"WHEN length({digits}) <= {exponent} + 1 "
        f"THEN {digits} || repeat('0', {exponent} + 1 - length({digits})) || '.0' "
        f"ELSE left({digits}, {exponent} + 1) || '.' || substr({digits}, {exponent} + 2) END "
        f"ELSE {mantissa} || 'e' || CASE WHEN {exponent} < 0 THEN '-' ELSE '+' END "
        f"|| abs({exponent})::text END"
    )


def boolean(expr: str) -> str:
    return f"({expr})::text"


def datetime(expr: str) -> str:
    """``datetime.isoformat()`` of a timestamptz read as UTC: microseconds only when not 0."""
    return quoted(datetime_bare(expr))


def datetime_bare(expr: str) -> str:
    """As ``datetime``, without the quotes (for cursors, which quote it themselves)."""
    # '.000000' can only be the fraction: one to_char and a replace beat three to_chars.
    stamp = f"to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"(replace({stamp}, '.000000', '') || '+00:00')"


BARE[datetime] = datetime_bare


def date(expr: str) -> str:
    return f"('\"' || to_char({expr}, 'YYYY-MM-DD') || '\"')"


def time(expr: str) -> str:
    """``time.isoformat()``: microseconds only when not 0."""
    stamp = f"to_char('2000-01-01'::date + ({expr}), 'HH24:MI:SS.US')"
    return f"('\"' || replace({stamp}, '.000000', '') || '\"')"


def jsonb_strings(expr: str) -> str:
    """A JSONB array as a list of strings (``str`` of each element, as the resolvers do)."""
    return (
        f"(SELECT '[' || coalesce(string_agg(to_json(e.v)::text, ',' ORDER BY e.o), '') || ']' "
        f"FROM jsonb_array_elements_text(CASE WHEN jsonb_typeof({expr}) = 'array' "
        f"THEN {expr} ELSE '[]'::jsonb END) WITH ORDINALITY AS e(v, o))"
    )


def jsonb_ints(expr: str) -> str:
    """A JSONB array of integers, or NULL when the value is not an array."""
    return (
        f"CASE WHEN jsonb_typeof({expr}) = 'array' THEN "
        f"(SELECT '[' || coalesce(string_agg(e.v::text, ',' ORDER BY e.o), '') || ']' "
        f"FROM jsonb_array_elements({expr}) WITH ORDINALITY AS e(v, o)) END"
    )


def python_json_string(expr: str) -> str:
    """``json.dumps`` of a text value with its default ``ensure_ascii``, as cursors hold it.

    Printable ASCII needs only ``"`` and ``\\`` escaped, as ``to_json`` does; anything else is
    escaped a character at a time (astral characters as a surrogate pair).
    """
    per_character = (
        "(SELECT '\"' || string_agg(CASE "
        "WHEN ch = '\"' THEN '\\\"' WHEN ch = '\\' THEN '\\\\' "
        "WHEN ch = E'\\n' THEN '\\n' WHEN ch = E'\\r' THEN '\\r' WHEN ch = E'\\t' THEN '\\t' "
        "WHEN ch = E'\\b' THEN '\\b' WHEN ch = E'\\f' THEN '\\f' "
        "WHEN ascii(ch) BETWEEN 32 AND 126 THEN ch "
        "WHEN ascii(ch) < 65536 THEN '\\u' || lpad(to_hex(ascii(ch)), 4, '0') "
        "ELSE '\\u' || to_hex(55296 + ((ascii(ch) - 65536) >> 10)) "
        "|| '\\u' || to_hex(56320 + ((ascii(ch) - 65536) & 1023)) END, '' ORDER BY o) || '\"' "
        f"FROM regexp_split_to_table({expr}, '') WITH ORDINALITY AS chars(ch, o))"
    )
    return f"CASE WHEN {expr} ~ '^[ -~]*$' THEN to_json({expr})::text ELSE {per_character} END"


def base64url(parts: Sequence[str | Expr]) -> str:
    """``base64.urlsafe_b64encode`` of the UTF-8 bytes of ``concat(parts)``.

    PostgreSQL breaks base64 lines; they are joined again. Three ``replace`` calls, not one
    ``translate``: translate costs ~1.5 us a call (a cursor per row of a page), five times as
    much. A leading literal's first 3n bytes encode to 4n characters that do not depend on
    what follows, so they are encoded here, once, and only the rest per row.
    """
    lead = 0
    while lead < len(parts) and isinstance(parts[lead], str):
        lead += 1
    text = "".join(str(p) for p in parts[:lead])
    # Only ASCII, where bytes are characters, so the cut cannot split one.
    cut = len(text) - len(text) % 3 if text.isascii() else 0
    head, tail = text[:cut], text[cut:]
    rest_parts = [*([tail] if tail else []), *parts[lead:]]
    encoded = f"encode(convert_to({concat(rest_parts)}, 'UTF8'), 'base64')"
    rest = f"replace(replace(replace({encoded}, E'\\n', ''), '+', '-'), '/', '_')"
    if not head:
        return rest
    return f"({literal(base64.urlsafe_b64encode(head.encode()).decode())} || {rest})"
