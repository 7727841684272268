"""The sentiment switch: erase every score when the owner turns it off, rescore when on.

Scores are derived values that devices receive in their pulls, so erasing them is a write like
any other: the rows get the transaction's version and devices pull the cleared score.
"""

from __future__ import annotations

import sqlalchemy as sa

from insights import sentiment
from store import tables
from sync.writer import Writer

_i = tables.interactions.c
# Turning scoring back on rescores this many of the newest interactions at once (about a
# second of work); older ones are scored when their text next changes. Health weighs recent
# interactions most, so these are the ones that matter.
RESCORE_LIMIT = 2_000


async def erase_scores(w: Writer) -> int:
    """Clear every sentiment score of the owner; return how many rows changed."""
    result = await w.conn.execute(
        sa.update(tables.interactions)
        .where(_i.owner_id == w.owner_id, _i.sentiment.is_not(None))
        .values(sentiment=None, server_version=w.version, updated_at=w.now)
    )
    w.changed = w.changed or bool(result.rowcount)
    return int(result.rowcount)


async def rescore_recent(w: Writer, limit: int = RESCORE_LIMIT) -> int:
    """Score the newest unscored interactions; return how many got a score."""
    rows = (
        await w.conn.execute(
            sa.select(_i.id, _i.summary, _i.body)
            .where(_i.owner_id == w.owner_id, _i.sentiment.is_(None), _i.cl % 2 == 1)
            .order_by(_i.occurred_at.desc(), _i.id.desc())
            .limit(limit)
        )
    ).all()
    scored = [
        {"row_id": row.id, "score": s.compound}
        for row in rows
        if (s := sentiment.score_text(row.summary, row.body)) is not None
    ]
    if scored:
        await w.conn.execute(
            sa.update(tables.interactions)
            .where(_i.owner_id == w.owner_id, _i.id == sa.bindparam("row_id"))
            .values(sentiment=sa.bindparam("score"), server_version=w.version, updated_at=w.now),
            scored,
        )
        w.changed = True
    return len(scored)


async def apply_switch(w: Writer, enabled: bool) -> None:
    """Follow the owner's sentiment setting, just changed to ``enabled``."""
    if enabled:
        await rescore_recent(w)
    else:
        await erase_scores(w)
