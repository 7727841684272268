"""The push pipeline bench's data: users, contacts, reminders and devices generated in SQL.

Every user has a time zone drawn from a list across every UTC offset band, a preferred hour
from 7 to 10, a quarter quiet hours, a tenth a daily digest; every contact a birthday, a third a
work start date, a half a keep-in-touch cadence with a last interaction up to 90 days ago (hence
a follow-up date); every user one device and two reminders (one weekly).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

ZONES = [
    "Pacific/Auckland",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Kolkata",
    "Europe/Berlin",
    "Europe/London",
    "America/St_Johns",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "UTC",
]
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


GENERATE = [
    # Users and their version rows.
    """
    INSERT INTO users (id, email, display_name, time_zone, reminder_hour, quiet_hours_start,
                       quiet_hours_end, daily_digest, created_at, updated_at)
    SELECT gen_random_uuid(), 'notify+' || n || '@bench.rapport', 'User ' || n,
           (:zones)[1 + n % cardinality(:zones)], 7 + n % 4,
           CASE WHEN n % 4 = 0 THEN time '22:00' END, CASE WHEN n % 4 = 0 THEN time '07:30' END,
           n % 10 = 0, :now, :now
    FROM generate_series(1, :users) AS n
    """,
    """
    INSERT INTO sync_owners (owner_id, version, hlc, epoch)
    SELECT id, 1, '', gen_random_uuid() FROM users
    """,
    # Their planner rows, as sign-up makes them.
    "INSERT INTO planner_owners (owner_id) SELECT id FROM users",
    # Contacts: every one with a birthday; some with a work start and a cadence.
    """
    INSERT INTO contacts (owner_id, id, first_name, last_name, birthday_month, birthday_day,
                          birthday_year, work_started_on, cadence_days, last_interaction_at,
                          next_follow_up_at, server_version, created_at, updated_at)
    SELECT u.id, gen_random_uuid(), 'Contact', c::text,
           1 + (c * 7 + u.n) % 12, 1 + (c * 13 + u.n) % 28,
           CASE WHEN c % 2 = 0 THEN 1960 + c % 40 END,
           CASE WHEN c % 3 = 0 THEN date '2010-01-01' + ((c * 37 + u.n) % 5000)::int END,
           CASE WHEN c % 2 = 1 THEN 30 END,
           CASE WHEN c % 2 = 1 THEN :now - make_interval(days => ((c + u.n) % 90)::int) END,
           CASE WHEN c % 2 = 1
                THEN :now - make_interval(days => ((c + u.n) % 90)::int) + interval '30 days' END,
           1, :now, :now
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) AS u,
         generate_series(1, :contacts) AS c
    """,
    """
    INSERT INTO reminders (owner_id, id, title, due_on, repeat_unit, repeat_every,
                           server_version, created_at, updated_at)
    SELECT id, gen_random_uuid(), 'Weekly review', date '2026-11-02', 'WEEK', 1, 1, :now, :now
    FROM users
    UNION ALL
    SELECT id, gen_random_uuid(), 'Send the deck', date '2026-11-25', NULL, NULL, 1, :now, :now
    FROM users
    """,
    """
    INSERT INTO devices (owner_id, id, token, platform, locale, created_at, updated_at)
    SELECT id, gen_random_uuid(), 'bench-token-' || id, 'android',
           (ARRAY['en', 'fr-FR', 'de', 'es', 'pt-BR'])[1 + get_byte(uuid_send(id), 15) % 5],
           :now, :now
    FROM users
    """,
]


async def generate(engine: AsyncEngine, users: int, contacts: int) -> float:
    started = time.perf_counter()
    params = {"zones": ZONES, "now": NOW, "users": users, "contacts": contacts}
    typed = (
        sa.bindparam("now", type_=sa.DateTime(timezone=True)),
        sa.bindparam("zones", type_=ARRAY(sa.Text)),
        sa.bindparam("users", type_=sa.Integer),
        sa.bindparam("contacts", type_=sa.Integer),
    )
    async with engine.begin() as conn:
        for statement in GENERATE:
            query = sa.text(statement)
            names = {p.key for p in typed if f":{p.key}" in statement}
            query = query.bindparams(*(p for p in typed if p.key in names))
            await conn.execute(query, {k: v for k, v in params.items() if k in names})
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(sa.text("VACUUM (ANALYZE)"))
    return time.perf_counter() - started


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
