"""Relationship health: a score from 0 to 100, its bucket, and the factors behind it.

Four factors, each scored 0..1 and weighted:

| factor    | weight | 1.0 means                                             |
|-----------|--------|-------------------------------------------------------|
| recency   | 0.40   | the last interaction is within the contact's cadence  |
| frequency | 0.25   | as many interactions in 90 days as the cadence asks   |
| sentiment | 0.20   | recent interactions read as clearly positive          |
| balance   | 0.15   | you gave about as much as you received                |

A factor without evidence (no scored text, nothing given or received) scores a neutral 0.5
and says so. Contacts without a cadence get one from their importance (``DEFAULT_CADENCE``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# Keep-in-touch cadence (days) for contacts that have none, by importance.
DEFAULT_CADENCE = {"VIP": 14, "HIGH": 30, "NORMAL": 60, "LOW": 120}
WEIGHTS = {"RECENCY": 0.40, "FREQUENCY": 0.25, "SENTIMENT": 0.20, "BALANCE": 0.15}
FREQUENCY_WINDOW = timedelta(days=90)
BALANCE_WINDOW = timedelta(days=365)
# Each older interaction counts half as much as the one after it for the sentiment trend.
SENTIMENT_DECAY = 0.5
SENTIMENT_DEPTH = 8


class Bucket(StrEnum):
    THRIVING = "THRIVING"
    STEADY = "STEADY"
    COOLING = "COOLING"
    AT_RISK = "AT_RISK"
    DORMANT = "DORMANT"


# The lowest score of each bucket, best first.
BUCKET_FLOORS = (
    (Bucket.THRIVING, 80),
    (Bucket.STEADY, 60),
    (Bucket.COOLING, 40),
    (Bucket.AT_RISK, 20),
)


@dataclass(frozen=True)
class ContactFacts:
    importance: str
    cadence_days: int | None
    created_at: datetime


@dataclass(frozen=True)
class InteractionFacts:
    occurred_at: datetime
    sentiment: float | None = None
    given: bool = False
    received: bool = False


@dataclass(frozen=True)
class Factor:
    name: str
    weight: float
    score: float
    reason: str


@dataclass(frozen=True)
class Health:
    score: int
    bucket: Bucket
    factors: tuple[Factor, ...]

    def reasons(self) -> list[str]:
        return [f.reason for f in self.factors]


def cadence_of(contact: ContactFacts) -> int:
    """Return the contact's cadence in days, or the default for its importance."""
    if contact.cadence_days:
        return contact.cadence_days
    return DEFAULT_CADENCE.get(contact.importance, DEFAULT_CADENCE["NORMAL"])


def bucket_of(score: int) -> Bucket:
    for bucket, floor in BUCKET_FLOORS:
        if score >= floor:
            return bucket
    return Bucket.DORMANT


def _recency(contact: ContactFacts, past: Sequence[InteractionFacts], now: datetime) -> Factor:
    cadence = cadence_of(contact)
    weight = WEIGHTS["RECENCY"]
    if not past:
        return Factor("RECENCY", weight, 0.0, "no interactions yet")
    days = (now - max(i.occurred_at for i in past)).total_seconds() / 86400
    ratio = days / cadence
    # Full marks within the cadence, falling linearly to nothing at three cadences.
    score = 1.0 if ratio <= 1 else max(0.0, 1 - (ratio - 1) / 2)
    if ratio <= 1:
        reason = f"last interaction {days:.0f} days ago, within the {cadence}-day cadence"
    else:
        reason = (
            f"last interaction {days:.0f} days ago, {days - cadence:.0f} days past the "
            f"{cadence}-day cadence"
        )
    return Factor("RECENCY", weight, score, reason)


def _frequency(contact: ContactFacts, past: Sequence[InteractionFacts], now: datetime) -> Factor:
    cadence = cadence_of(contact)
    recent = sum(1 for i in past if now - i.occurred_at <= FREQUENCY_WINDOW)
    expected = max(1.0, FREQUENCY_WINDOW.days / cadence)
    score = min(1.0, recent / expected)
    reason = f"{recent} interactions in the last 90 days; the cadence asks for {expected:.0f}"
    return Factor("FREQUENCY", WEIGHTS["FREQUENCY"], score, reason)


def _sentiment(past: Sequence[InteractionFacts]) -> Factor:
    weight = WEIGHTS["SENTIMENT"]
    scored = sorted(
        (i for i in past if i.sentiment is not None), key=lambda i: i.occurred_at, reverse=True
    )[:SENTIMENT_DEPTH]
    if not scored:
        return Factor("SENTIMENT", weight, 0.5, "no scored interactions; counted as neutral")
    weights = [SENTIMENT_DECAY**n for n in range(len(scored))]
    mean = sum(w * (i.sentiment or 0.0) for w, i in zip(weights, scored, strict=True)) / sum(
        weights
    )
    tone = "positive" if mean >= 0.05 else "negative" if mean <= -0.05 else "neutral"
    reason = f"recent interactions read {tone} (weighted average {mean:+.2f})"
    return Factor("SENTIMENT", weight, (mean + 1) / 2, reason)


def _balance(past: Sequence[InteractionFacts], now: datetime) -> Factor:
    weight = WEIGHTS["BALANCE"]
    window = [i for i in past if now - i.occurred_at <= BALANCE_WINDOW]
    given = sum(1 for i in window if i.given)
    received = sum(1 for i in window if i.received)
    if given == received == 0:
        return Factor("BALANCE", weight, 0.5, "nothing given or received this year")
    score = (min(given, received) + 1) / (max(given, received) + 1)
    return Factor("BALANCE", weight, score, f"you gave {given} and received {received} this year")


def interaction_facts(rows: Sequence[Mapping[Any, Any]]) -> list[InteractionFacts]:
    """Scoring inputs from interaction rows (``store.insights.health_interactions``)."""
    return [
        InteractionFacts(
            occurred_at=r["occurred_at"],
            sentiment=r["sentiment"],
            given=r["gave"],
            received=r["got"],
        )
        for r in rows
    ]


def score_health(
    contact: ContactFacts, interactions: Sequence[InteractionFacts], now: datetime
) -> Health:
    """Score a relationship as it stood at ``now`` (later interactions are ignored)."""
    past = [i for i in interactions if i.occurred_at <= now]
    factors = (
        _recency(contact, past, now),
        _frequency(contact, past, now),
        _sentiment(past),
        _balance(past, now),
    )
    score = round(100 * sum(f.weight * f.score for f in factors))
    return Health(score=score, bucket=bucket_of(score), factors=factors)


@dataclass(frozen=True)
class HealthPoint:
    at: datetime
    score: int
    bucket: Bucket


def score_history(
    contact: ContactFacts, interactions: Sequence[InteractionFacts], now: datetime, weeks: int
) -> list[HealthPoint]:
    """Return the score at ``now`` and at each of the ``weeks`` weeks before, oldest first."""
    points = []
    for back in range(weeks, -1, -1):
        at = now - timedelta(weeks=back)
        health = score_health(contact, interactions, at)
        points.append(HealthPoint(at=at, score=health.score, bucket=health.bucket))
    return points
