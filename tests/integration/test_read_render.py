"""reads/render.py: PostgreSQL writes each value as the resolver path's Python would."""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import random
import struct
from collections.abc import AsyncIterator

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from reads import render
from store import keyset

TEXTS = [
    "",
    "plain ASCII ~ with spaces",
    'quote " and backslash \\ and slash /',
    "\b\f\n\r\t",
    "\x01\x1f\x7f",
    "é ß 日本 \u2028\u2029 \u00a0",
    "😀 👨\u200d👩\u200d👧 𝄞",
]
TIMES = [
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    dt.datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=dt.UTC),
    dt.datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone(dt.timedelta(hours=-7))),
    dt.datetime(
        2026, 6, 1, 12, 0, 0, 100000, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    ),
]


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        yield connection


async def _render(conn: AsyncConnection, sql: str, value: object) -> str:
    text = (await conn.exec_driver_sql(f"SELECT {sql}", (value,))).scalar_one()
    assert isinstance(text, str)
    return text


FLOATS = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -0.4404,
    0.05,
    0.1 + 0.2,
    1e-4,
    9.99e-5,
    1e-5,
    1.5e-5,
    -1.2345e-5,
    9.999e-6,
    1.5e-7,
    5e-324,
    2.2250738585072014e-308,
    1e15,
    -1.5e15,
    1234567890123456.7,
    9999999999999998.0,
    1e16,
    1.5e16,
    123456789012345.6,
    1e21,
    1.7976931348623157e308,
    123.0,
    -7e22,
]


async def test_floats_print_as_orjson_does(conn: AsyncConnection) -> None:
    # The edges of both layouts, then doubles from random bits (every exponent alike).
    rng = random.Random(13)
    randoms = [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(5000)]
    scores = [rng.uniform(-1, 1) for _ in range(1000)]
    tiny = [rng.uniform(-1e-4, 1e-4) for _ in range(200)]
    large = [rng.uniform(-1e16, 1e16) for _ in range(500)]
    whole = [float(rng.randrange(2**53, 10**16)) for _ in range(500)]
    every = FLOATS + randoms + scores + tiny + large + whole
    values = [v for v in every if abs(v) < 1e16]
    sql = f"SELECT array_agg({render.float_number('v')} ORDER BY n) FROM unnest($1::float8[]) WITH ORDINALITY AS t(v, n)"
    got = (await conn.exec_driver_sql(sql, (values,))).scalar_one()
    assert got == [orjson.dumps(v).decode() for v in values]


async def test_a_float_not_printed_as_orjson_would_fails_the_statement(
    conn: AsyncConnection,
) -> None:
    # The resolvers answer instead (reads.render.float_number).
    for value in [math.nan, math.inf, -math.inf, 1e16, -1.8541223362625432e16, 1e300]:
        with pytest.raises(sa.exc.DBAPIError):
            await _render(conn, render.float_number("$1::float8"), value)
        await conn.rollback()


async def test_text_escapes_as_orjson_does(conn: AsyncConnection) -> None:
    for text in TEXTS:
        assert await _render(conn, render.string("$1::text"), text) == orjson.dumps(text).decode()


async def test_cursor_text_escapes_as_json_dumps_does(conn: AsyncConnection) -> None:
    for text in TEXTS:
        assert await _render(conn, render.python_json_string("$1::text"), text) == json.dumps(text)


async def test_base64url_matches_python_without_line_breaks(conn: AsyncConnection) -> None:
    for text in ["", "a", "ab", "abc", "x" * 200, "?>?>~~~"]:
        want = base64.urlsafe_b64encode(text.encode()).decode()
        assert await _render(conn, render.base64url([render.Expr("$1::text")]), text) == want


async def test_base64url_encodes_a_leading_literal_once_and_the_rest_per_row(
    conn: AsyncConnection,
) -> None:
    # Heads of every length mod 3, ASCII and not, followed by a value and more literal text.
    for head in ["", "[", '["', '["c"', '["contacts:NEXT_FOLLOW_UP",', "é", "aé", "ab\u00e9"]:
        sql = render.base64url([head, render.Expr("$1::text"), '"]'])
        for text in ["", "a", "ab", "x" * 100, "ü?>"]:
            want = base64.urlsafe_b64encode((head + text + '"]').encode()).decode()
            assert await _render(conn, sql, text) == want
    # The 27-byte head of the home screen's cursors is encoded in Python, not per row.
    assert "WyJjb250YWN0czpORVhUX0ZPTExPV19VUCIs" in render.base64url(
        ['["contacts:NEXT_FOLLOW_UP",', render.Expr("$1::text")]
    )


async def test_times_and_dates_are_isoformat(conn: AsyncConnection) -> None:
    for moment in TIMES:
        want = json.dumps(moment.astimezone(dt.UTC).isoformat())
        assert await _render(conn, render.datetime("$1::timestamptz"), moment) == want
        day = moment.date()
        assert await _render(conn, render.date("$1::date"), day) == json.dumps(day.isoformat())
        clock = moment.time()
        assert await _render(conn, render.time("$1::time"), clock) == json.dumps(clock.isoformat())


async def test_a_cursor_is_encode_cursor_byte_for_byte(conn: AsyncConnection) -> None:
    keys = [
        keyset.SortKey(sa.column("name"), "name", "text"),
        keyset.SortKey(sa.column("at"), "at", "time", nullable=True),
    ]
    for text in TEXTS:
        for moment in [*TIMES, None]:
            # Rows come from asyncpg in UTC, and so do the times the cursor holds.
            at = None if moment is None else moment.astimezone(dt.UTC)
            want = keyset.encode_cursor("contacts:NAME", keys, {"name": text, "at": at})
            stamp = render.datetime_bare("$2::timestamptz")
            payload = [
                '["contacts:NAME",',
                render.Expr(render.python_json_string("$1::text")),
                ",",
                render.Expr(f"""coalesce('"' || {stamp} || '"', 'null')"""),
                "]",
            ]
            sql = f"SELECT {render.base64url(payload)}"
            got = (await conn.exec_driver_sql(sql, (text, moment))).scalar_one()
            assert got == want


async def test_display_names_strip_what_python_strips(conn: AsyncConnection) -> None:
    for name in [" a ", "\u3000b\u2028", "\x1cc\x1f", "\u200bd\u200b", "e\u00a0"]:
        sql = render.string("btrim($1::text, $2::text)")
        got = (await conn.exec_driver_sql(f"SELECT {sql}", (name, render.WHITESPACE))).scalar_one()
        assert got == orjson.dumps(name.strip()).decode()
