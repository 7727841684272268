"""Whom to reach out to now: importance times how overdue, plus how fast health is falling.

The caller passes contacts already known to be due (last interaction, or creation, older than
their cadence) and not snoozed, each with its health now and a few weeks ago.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from insights import health
from insights.health import Health

K = TypeVar("K")

IMPORTANCE_WEIGHT = {"VIP": 4.0, "HIGH": 3.0, "NORMAL": 2.0, "LOW": 1.0}
# Overdue beyond three cadences adds nothing: a year-old silence is not 12 times as urgent.
MAX_OVERDUE_RATIO = 3.0
DECLINE_WEEKS = 4


@dataclass(frozen=True)
class Candidate(Generic[K]):
    key: K
    importance: str
    cadence_days: int
    overdue_days: float
    health: Health
    health_before: Health


@dataclass(frozen=True)
class Suggestion(Generic[K]):
    key: K
    priority: float
    reasons: tuple[str, ...]


def build_candidates(
    rows: Sequence[Mapping[Any, Any]],
    history: Mapping[K, Sequence[Mapping[Any, Any]]],
    now: datetime,
) -> list[Candidate[K]]:
    """Candidates from ``store.insights.reconnect_candidates`` rows and their interactions
    (``health_interactions``), each with its health now and ``DECLINE_WEEKS`` ago."""
    candidates: list[Candidate[K]] = []
    for row in rows:
        facts = health.ContactFacts(row["importance"], row["cadence_days"], row["created_at"])
        seen = health.interaction_facts(history.get(row["id"], []))
        candidates.append(
            Candidate(
                key=row["id"],
                importance=row["importance"],
                cadence_days=int(row["cadence"]),
                overdue_days=float(row["overdue_days"]),
                health=health.score_health(facts, seen, now),
                health_before=health.score_health(
                    facts, seen, now - timedelta(weeks=DECLINE_WEEKS)
                ),
            )
        )
    return candidates


def urgency(importance: str, overdue_days: float, cadence_days: int) -> float:
    """Importance times how many cadences overdue (capped): the ranking before health."""
    ratio = min(MAX_OVERDUE_RATIO, max(0.0, overdue_days) / cadence_days)
    return IMPORTANCE_WEIGHT.get(importance, 2.0) * ratio


def rank_reconnects(candidates: Sequence[Candidate[K]], first: int) -> list[Suggestion[K]]:
    """Rank candidates by urgency plus health decline; ties by key for a stable order."""
    ranked: list[Suggestion[K]] = []
    for c in candidates:
        decline = max(0, c.health_before.score - c.health.score)
        priority = urgency(c.importance, c.overdue_days, c.cadence_days) + decline / 10
        reasons = [
            f"{c.importance.lower()} importance",
            f"{c.overdue_days:.0f} days overdue against a {c.cadence_days}-day cadence",
        ]
        if decline:
            reasons.append(
                f"health fell from {c.health_before.score} to {c.health.score} "
                f"in {DECLINE_WEEKS} weeks"
            )
        reasons.append(f"health {c.health.score} ({c.health.bucket.value.lower()})")
        ranked.append(Suggestion(key=c.key, priority=round(priority, 3), reasons=tuple(reasons)))
    ranked.sort(key=lambda s: (-s.priority, str(s.key)))
    return ranked[:first]
