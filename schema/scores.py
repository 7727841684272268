"""Score types that nodes show: an interaction's sentiment, a contact's health."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

import strawberry

from insights import health, sentiment
from schema.context import Context
from schema.errors import bad_input

strawberry.enum(sentiment.Label, name="SentimentLabel", description="VADER's ±0.05 convention.")


@strawberry.type(description="How the interaction's text reads, scored on the server (VADER).")
class Sentiment:
    compound: float = strawberry.field(description="-1 (most negative) to +1 (most positive).")
    label: sentiment.Label

    @classmethod
    def from_score(cls, compound: float | None) -> Sentiment | None:
        if compound is None:
            return None
        return cls(compound=compound, label=sentiment.label_for(compound))


strawberry.enum(health.Bucket, name="HealthBucket", description="Where a relationship stands.")

MAX_HISTORY_WEEKS = 104


@strawberry.type(description="One factor of a health score: its weight, its own score, and why.")
class HealthFactor:
    name: str = strawberry.field(description="RECENCY, FREQUENCY, SENTIMENT or BALANCE.")
    weight: float = strawberry.field(description="Its share of the score; the weights sum to 1.")
    score: float = strawberry.field(description="0 to 1.")
    reason: str


@strawberry.type(description="A relationship's health, 0-100, with the factors that made it.")
class RelationshipHealth:
    score: int
    bucket: health.Bucket
    factors: list[HealthFactor]

    @classmethod
    def from_health(cls, value: health.Health) -> RelationshipHealth:
        return cls(
            score=value.score,
            bucket=value.bucket,
            factors=[
                HealthFactor(name=f.name, weight=f.weight, score=round(f.score, 3), reason=f.reason)
                for f in value.factors
            ],
        )


@strawberry.type(description="The health score at the end of one week.")
class HealthPoint:
    at: dt.datetime
    score: int
    bucket: health.Bucket


async def resolve_health(
    ctx: Context, contact: health.ContactFacts, contact_id: UUID
) -> RelationshipHealth:
    rows = await (await ctx.loaders()).health_facts.load(contact_id)
    return RelationshipHealth.from_health(
        health.score_health(contact, health.interaction_facts(rows), ctx.clock.now())
    )


async def resolve_history(
    ctx: Context, contact: health.ContactFacts, contact_id: UUID, weeks: int
) -> list[HealthPoint]:
    if not 1 <= weeks <= MAX_HISTORY_WEEKS:
        raise bad_input("weeks", f"ask for 1 to {MAX_HISTORY_WEEKS} weeks, not {weeks}")
    rows = await (await ctx.loaders()).health_facts.load(contact_id)
    points = health.score_history(contact, health.interaction_facts(rows), ctx.clock.now(), weeks)
    return [HealthPoint(at=p.at, score=p.score, bucket=p.bucket) for p in points]
