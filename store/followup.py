"""The reads behind follow-ups: one interaction with its people, and first meetings left alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from store import contacts, interactions, tables

c = tables.contacts.c
i = tables.interactions.c
p = tables.interaction_participants.c
# How many later interactions a draft reads to see whether its promises were kept.
LATER_LIMIT = 20


@dataclass(frozen=True)
class DraftSources:
    interaction: sa.RowMapping
    # The interaction's living contacts, by name.
    recipients: list[sa.RowMapping]
    # Living interactions with any of them that happened after it, newest first.
    later: list[sa.RowMapping]


async def find_interaction(
    conn: AsyncConnection, *, owner_id: UUID, interaction_id: UUID
) -> sa.RowMapping | None:
    """Return one of the owner's interactions, deleted or not (``cl`` is even when deleted)."""
    query = sa.select(*interactions.READ_COLUMNS).where(
        i.owner_id == owner_id, i.id == interaction_id
    )
    return (await conn.execute(query)).mappings().first()


async def draft_sources(
    conn: AsyncConnection, *, owner_id: UUID, interaction: sa.RowMapping
) -> DraftSources:
    """Return what a follow-up draft of a living interaction reads."""
    recipients = (
        (
            await conn.execute(
                sa.select(*contacts.READ_COLUMNS)
                .join(
                    tables.interaction_participants,
                    sa.and_(p.owner_id == c.owner_id, p.contact_id == c.id),
                )
                .where(
                    p.owner_id == owner_id,
                    p.interaction_id == interaction["id"],
                    c.cl % 2 == 1,
                )
                .order_by(c.sort_name, c.id)
            )
        )
        .mappings()
        .all()
    )
    later = await _later(
        conn,
        owner_id=owner_id,
        contact_ids=[r["id"] for r in recipients],
        after=interaction["occurred_at"],
    )
    return DraftSources(interaction, list(recipients), later)


async def _later(
    conn: AsyncConnection, *, owner_id: UUID, contact_ids: Sequence[UUID], after: datetime
) -> list[sa.RowMapping]:
    if not contact_ids:
        return []
    ids = (
        sa.select(p.interaction_id)
        .where(
            p.owner_id == owner_id,
            p.contact_id.in_(list(contact_ids)),
            p.alive,
            p.occurred_at > after,
        )
        .distinct()
        .scalar_subquery()
    )
    query = (
        sa.select(*interactions.READ_COLUMNS)
        .where(i.owner_id == owner_id, i.id.in_(ids), i.cl % 2 == 1)
        .order_by(i.occurred_at.desc(), i.id.desc())
        .limit(LATER_LIMIT)
    )
    return list((await conn.execute(query)).mappings().all())


async def follow_ups_owed(
    conn: AsyncConnection,
    *,
    owner_id: UUID,
    met_after: datetime,
    met_before: datetime,
    today: date,
    kinds: Sequence[str],
    limit: int,
) -> list[sa.RowMapping]:
    """Return the first meetings, with ``contact_id``, of contacts with nothing else logged.

    The meeting happened in [met_after, met_before); nothing else is logged with them; they are
    not archived nor snoozed past ``today``. Longest waiting first.
    """
    # Per candidate contact, its newest interaction and whether any other exists: two probes
    # of the participants index (a join would read every participant row of the owner).
    newest = (
        sa.select(p.interaction_id)
        .where(p.owner_id == owner_id, p.contact_id == c.id, p.alive)
        .order_by(p.occurred_at.desc(), p.interaction_id.desc())
        .limit(1)
        .lateral("newest")
    )
    q = tables.interaction_participants.alias("q")
    anything_else = (
        sa.select(q.c.interaction_id)
        .where(
            q.c.owner_id == owner_id,
            q.c.contact_id == c.id,
            q.c.alive,
            q.c.interaction_id != newest.c.interaction_id,
        )
        .exists()
    )
    query = (
        sa.select(c.id.label("contact_id"), *interactions.READ_COLUMNS)
        .select_from(tables.contacts)
        .join(newest, sa.true())
        .join(
            tables.interactions,
            sa.and_(i.owner_id == owner_id, i.id == newest.c.interaction_id),
        )
        .where(
            c.owner_id == owner_id,
            c.cl % 2 == 1,
            # The last interaction is in the window: few contacts, found by an index.
            c.last_interaction_at >= met_after,
            c.last_interaction_at < met_before,
            c.stage != "ARCHIVED",
            sa.or_(c.snoozed_until.is_(None), c.snoozed_until <= today),
            i.kind.in_(list(kinds)),
            i.cl % 2 == 1,
            ~anything_else,
        )
        # NULLS FIRST (there are none in the window) makes this ix_contacts_last_interaction
        # read backwards: the walk stops after `limit` contacts that qualify.
        .order_by(c.last_interaction_at.asc().nulls_first(), c.id.asc())
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings().all())
