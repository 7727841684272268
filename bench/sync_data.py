"""The sync bench's database: one user seeded once, the pushed contacts tidied away."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bench import harness

EMAIL = "sync@bench.rapport"
PASSWORD = "bench-password-123"  # noqa: S105 - the generated bench user only
RANDOM_SEED = 3
# Contacts created by the pushes carry this company, so a later run can remove them.
PUSH_COMPANY = "X"


@dataclass(frozen=True)
class Dataset:
    contacts: int
    interactions: int


def database_name(dataset: Dataset, explicit: str | None) -> str:
    if explicit:
        return explicit
    if dataset == Dataset(10_000, 10):
        return "rapport_bench_sync"
    return f"rapport_bench_sync_{dataset.contacts}c_{dataset.interactions}i"


async def _owner(conn: Any) -> tuple[uuid.UUID | None, int]:
    """Return the bench user's id (None when absent) and its contact count."""
    row = (
        await conn.execute(
            sa.text(
                "SELECT u.id, (SELECT count(*) FROM contacts AS c WHERE c.owner_id = u.id) AS n"
                " FROM users AS u WHERE u.email = :e"
            ),
            {"e": EMAIL},
        )
    ).first()
    return (None, 0) if row is None else (row.id, int(row.n))


async def remove_pushed(url: str) -> int:
    """Delete the contacts earlier pushes created; return how many."""
    async with harness.connection(url) as conn:
        result = await conn.execute(
            sa.text(
                "DELETE FROM contacts WHERE owner_id = (SELECT id FROM users WHERE email = :e)"
                " AND company = :company AND first_name LIKE 'Bench %'"
            ),
            {"e": EMAIL, "company": PUSH_COMPANY},
        )
        return int(result.rowcount)


async def prepare_data(url: str, dataset: Dataset) -> float | None:
    """Seed the bench user unless present; return the seconds seeding took (None: reused)."""
    from api import seed as seeding

    removed = await remove_pushed(url)
    if removed:
        print(f"removed {removed} contacts left by earlier pushes", flush=True)
    async with harness.connection(url) as conn:
        owner_id, contacts = await _owner(conn)
        if owner_id is not None and contacts == 0:
            # Signed up, but the seeding transaction did not commit: seed again.
            await conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": owner_id})
            print(f"removed half-seeded user {EMAIL}", flush=True)
            owner_id = None
        elif owner_id is not None and contacts != dataset.contacts:
            raise SystemExit(
                f"{EMAIL} has {contacts} contacts, not {dataset.contacts}: this database"
                " holds another dataset; pass --database NAME"
            )
    seconds: float | None = None
    if owner_id is None:
        print(
            f"seeding {dataset.contacts} contacts x ~{dataset.interactions} interactions ...",
            flush=True,
        )
        started = time.perf_counter()
        await seeding.seed_database(
            url,
            users=1,
            contacts=dataset.contacts,
            interactions=dataset.interactions,
            email=EMAIL,
            password=PASSWORD,
            random_seed=RANDOM_SEED,
        )
        seconds = time.perf_counter() - started
        print(f"seeded in {seconds:.1f} s", flush=True)
    await harness.vacuum(url)
    return seconds


async def describe_data(url: str) -> dict[str, Any]:
    async with harness.connection(url) as conn:
        row = (
            await conn.execute(
                sa.text(
                    "SELECT"
                    " (SELECT count(*) FROM contacts c WHERE c.owner_id = u.id) AS contacts,"
                    " (SELECT count(*) FROM interactions i WHERE i.owner_id = u.id)"
                    " AS interactions,"
                    " (SELECT count(*) FROM interaction_participants p"
                    " WHERE p.owner_id = u.id) AS participants,"
                    " (SELECT count(*) FROM users) AS users"
                    " FROM users u WHERE u.email = :e"
                ),
                {"e": EMAIL},
            )
        ).one()
        size = await conn.scalar(
            sa.text("SELECT pg_size_pretty(pg_database_size(current_database()))")
        )
        version = await conn.scalar(sa.text("SHOW server_version"))
    return {
        "contacts": int(row.contacts),
        "interactions": int(row.interactions),
        "participants": int(row.participants),
        "users": int(row.users),
        "database_size": size,
        "postgresql": version,
    }
