"""Recent owners' introduction indexes, kept between requests.

The index is a function of the owner's data, and every write bumps the owner's version, so an
index built at the version still current is still exact. The time limit covers what changes
without a write: who counts as recently seen. Bounded, per process, created with the app and
reached through the context; a miss costs one rebuild (bench/RESULTS.md: cold and warm).
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncConnection

from insights import introduction
from model.clock import Clock
from store import insights as insight_store

INDEX_CACHE_SIZE = 64
INDEX_MAX_AGE = timedelta(minutes=10)
# Who counts as recently seen when an index is built.
RECENT = timedelta(days=90)


class IntroductionIndexes:
    """Each owner's index with the version it was built at; entries expire by ``clock``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._cache: TTLCache[UUID, tuple[int, introduction.Index[UUID]]] = TTLCache(
            maxsize=INDEX_CACHE_SIZE,
            ttl=INDEX_MAX_AGE.total_seconds(),
            timer=lambda: clock.now().timestamp(),
        )

    async def get(self, conn: AsyncConnection, owner_id: UUID) -> introduction.Index[UUID]:
        """The owner's index: kept if built at the current version, else built and kept."""
        version = await insight_store.owner_version(conn, owner_id=owner_id)
        cached = self._cache.get(owner_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        postings, anchors, total = await insight_store.introduction_index(
            conn,
            owner_id=owner_id,
            role_words=introduction.ROLE_WORDS,
            recent_since=self.clock.now() - RECENT,
            anchors=introduction.MAX_ANCHORS,
        )
        index = introduction.Index(postings=postings, anchors=anchors, total=total)
        self._cache[owner_id] = (version, index)
        return index
