"""The weekly review's numbers: totals over the range's weeks and health at its end.

Pure: the caller reads the weeks (``store.networking.weekly_activity``) and the health inputs
(``store.networking.health_inputs_at``) and passes them in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from insights import health


@dataclass(frozen=True)
class Totals:
    interactions: int
    given: int
    received: int
    # Mean compound score of the scored interactions, None when none was scored.
    average_sentiment: float | None


def sum_weeks(weeks: Sequence[Any]) -> Totals:
    """Totals of per-week rows (interactions, given, received, sentiment, scored)."""
    scored = sum(w.scored for w in weeks)
    total_sentiment = sum((w.sentiment or 0) * w.scored for w in weeks)
    return Totals(
        interactions=sum(w.interactions for w in weeks),
        given=sum(w.given for w in weeks),
        received=sum(w.received for w in weeks),
        average_sentiment=round(total_sentiment / scored, 4) if scored else None,
    )


def count_buckets(
    contacts: Sequence[Any], facts: Sequence[Any], at: datetime
) -> Counter[health.Bucket]:
    """How many contacts are in each health bucket at ``at``.

    ``contacts`` have (id, importance, cadence_days, created_at, last_at), ``facts``
    (contact_id, occurred_at, sentiment, gave, got), flat.
    """
    by_contact: dict[UUID, list[health.InteractionFacts]] = {}
    for f in facts:
        by_contact.setdefault(f.contact_id, []).append(
            health.InteractionFacts(f.occurred_at, f.sentiment, f.gave, f.got)
        )
    counts: Counter[health.Bucket] = Counter()
    for c in contacts:
        seen = by_contact.get(c.id, [])
        if c.last_at is not None and not seen:
            # Silent for over a year: the last interaction still sets recency.
            seen = [health.InteractionFacts(c.last_at)]
        contact = health.ContactFacts(c.importance, c.cadence_days, c.created_at)
        counts[health.score_health(contact, seen, at).bucket] += 1
    return counts
