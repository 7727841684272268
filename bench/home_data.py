"""The home bench's database: the dataset, resumable seeding, PostGraphile's views, the owner."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import harness

BENCH = Path(__file__).resolve().parent
VIEWS_SQL = BENCH / "home_views.sql"
EMAIL = "demo@rapport.dev"
PASSWORD = "rapport-bench-password"  # noqa: S105 - generated bench users only
RANDOM_SEED = 7


@dataclass(frozen=True)
class Dataset:
    users: int
    contacts: int
    interactions: int

    def emails(self) -> list[str]:
        local, _, domain = EMAIL.partition("@")
        return [EMAIL if n == 0 else f"{local}+{n}@{domain}" for n in range(self.users)]


def database_name(dataset: Dataset, explicit: str | None) -> str:
    if explicit:
        return explicit
    if dataset == Dataset(100, 10_000, 10):
        return "rapport_bench"
    return f"rapport_bench_{dataset.users}u_{dataset.contacts}c_{dataset.interactions}i"


async def missing_users(url: str, dataset: Dataset) -> list[int]:
    """Return the numbers of the users still to seed; drop any left half-seeded."""
    emails = dataset.emails()
    async with harness.connection(url) as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT u.email, (SELECT count(*) FROM contacts AS c"
                    " WHERE c.owner_id = u.id) AS n FROM users AS u WHERE u.email = ANY(:e)"
                ),
                {"e": emails},
            )
        ).all()
        counts = {row.email: int(row.n) for row in rows}
        for email, n in counts.items():
            if n == 0:
                # Signed up, but its contacts' transaction did not commit: seed it again.
                await conn.execute(sa.text("DELETE FROM users WHERE email = :e"), {"e": email})
                print(f"removed half-seeded user {email}")
            elif n != dataset.contacts:
                raise SystemExit(
                    f"{email} has {n} contacts, not {dataset.contacts}: this database holds"
                    " another dataset; pass --reseed to rebuild it, or --database NAME"
                )
    return [n for n, email in enumerate(emails) if counts.get(email, 0) == 0]


async def seed(url: str, dataset: Dataset, todo: list[int]) -> float:
    """Seed the users numbered ``todo``; return the seconds it took."""
    from api import seed as seeding

    emails = dataset.emails()
    # Once the statistics know some owners, a new owner's contacts are estimated at one row,
    # and the planner runs the writer's derived-values refresh (sync/derived.py) as a nested
    # loop over the owner's contacts twice: 10,000 contacts took 100 s instead of 3 s. The
    # seeding sessions therefore plan without nested loops where they can; the setting is
    # removed again before anything is measured.
    await set_nestloop(url, enabled=False)
    started = time.perf_counter()
    try:
        for done, n in enumerate(todo, start=1):
            user_started = time.perf_counter()
            await seeding.seed_database(
                url,
                users=1,
                contacts=dataset.contacts,
                interactions=dataset.interactions,
                email=emails[n],
                password=PASSWORD,
                random_seed=RANDOM_SEED + n,
            )
            elapsed = time.perf_counter() - started
            print(
                f"seeded {emails[n]} in {time.perf_counter() - user_started:.1f} s"
                f" ({done}/{len(todo)}, {elapsed:.0f} s so far)",
                flush=True,
            )
    finally:
        await set_nestloop(url, enabled=True)
    return time.perf_counter() - started


async def set_nestloop(url: str, *, enabled: bool) -> None:
    """Set (or reset to the server's default) ``enable_nestloop`` for new sessions."""
    await set_database_option(url, "enable_nestloop", None if enabled else "off")


async def set_database_option(url: str, name: str, value: str | None) -> None:
    """Set a setting for the bench database's new sessions, or reset it (``None``)."""
    if not re.fullmatch(r"[a-z_]+", name) or (value is not None and not value.isalnum()):
        raise ValueError(f"not a plain setting: {name} = {value}")
    database = harness.quote_name(make_url(url).database or "")
    async with harness.connection(url, "postgres") as conn:
        if value is None:
            await conn.execute(sa.text(f"ALTER DATABASE {database} RESET {name}"))
        else:
            await conn.execute(sa.text(f"ALTER DATABASE {database} SET {name} = {value}"))


async def describe_data(url: str) -> dict[str, Any]:
    async with harness.connection(url) as conn:
        counts = {
            table: int(await conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) or 0)
            for table in ("users", "contacts", "interactions", "interaction_participants")
        }
        first = await conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM contacts c WHERE c.owner_id = u.id) AS contacts,"
                " (SELECT count(*) FROM interactions i WHERE i.owner_id = u.id) AS interactions"
                " FROM users u WHERE u.email = :e"
            ),
            {"e": EMAIL},
        )
        row = first.one()
        size = await conn.scalar(
            sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        )
        version = await conn.scalar(sa.text("SHOW server_version"))
    return {
        "totals": counts,
        "first_user": {"contacts": int(row.contacts), "interactions": int(row.interactions)},
        "database_size": size,
        "postgresql": version,
    }


async def create_views(url: str) -> None:
    """(Re)create the bench_graphile views PostGraphile serves, in one transaction."""
    import asyncpg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        # Several statements and no arguments: one simple-protocol query, one transaction.
        await conn.execute(VIEWS_SQL.read_text())
    finally:
        await conn.close()


async def owner_id(url: str) -> str:
    """Return the demo user's id: PostGraphile's and pgbench's owner (Rapport's comes signed)."""
    async with harness.connection(url) as conn:
        found = await conn.scalar(sa.text("SELECT id FROM users WHERE email = :e"), {"e": EMAIL})
    if found is None:
        raise SystemExit(f"{EMAIL} is not in the database")
    return str(found)
