"""The weekly review: activity, balance, sentiment and health over a range of days."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from insights import health
from schema.context import Context
from schema.errors import bad_input
from schema.networking import day_bounds, owner_zone
from store import networking as store

MAX_SUMMARY_DAYS = 366


@strawberry.type(description="One local week (from Monday) of a network summary.")
class WeekActivity:
    week_start: dt.date
    interactions: int
    given: int
    received: int
    average_sentiment: float | None


@strawberry.type
class BucketCount:
    bucket: health.Bucket
    count: int


@strawberry.type(description="The numbers a weekly review shows, for a range of days.")
class NetworkSummary:
    from_: dt.date = strawberry.field(name="from")
    to: dt.date
    weeks: list[WeekActivity]
    interactions: int
    new_contacts: int
    given: int
    received: int
    average_sentiment: float | None = strawberry.field(
        description="Mean compound score of the scored interactions; null when none."
    )
    health: list[BucketCount] = strawberry.field(
        description="How many living contacts are in each health bucket at the end of the range."
    )


def _summary_range(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise bad_input("to", f"ends before it starts ({start}); send a later date")
    if (end - start).days >= MAX_SUMMARY_DAYS:
        raise bad_input("to", f"summarize at most {MAX_SUMMARY_DAYS} days at a time")


def _health_counts(contacts: list[Any], facts: list[Any], at: datetime) -> list[BucketCount]:
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
    return [BucketCount(bucket=b, count=counts[b]) for b in health.Bucket]


@strawberry.type
class SummaryQuery:
    @strawberry.field(description="Activity, balance, sentiment and health for a range of days.")
    async def network_summary(
        self,
        info: Info[Context, None],
        from_: Annotated[dt.date, strawberry.argument(name="from")],
        to: dt.date,
    ) -> NetworkSummary:
        ctx = info.context
        owner_id = await ctx.owner_id()
        _summary_range(from_, to)
        zone = await owner_zone(ctx, owner_id)
        start, end = day_bounds(from_, to, zone)
        async with ctx.engine.connect() as conn:
            weeks = await store.weekly_activity(
                conn, owner_id=owner_id, start=start, end=end, time_zone=str(zone)
            )
            new_contacts = await store.count_new_contacts(
                conn, owner_id=owner_id, start=start, end=end
            )
            # Health at the end of the range, from its last year of interactions.
            at = min(end, ctx.clock.now())
            contacts, facts = await store.health_inputs_at(
                conn, owner_id=owner_id, at=at, since=at - health.BALANCE_WINDOW
            )
        scored = sum(w.scored for w in weeks)
        total_sentiment = sum((w.sentiment or 0) * w.scored for w in weeks)
        return NetworkSummary(
            from_=from_,
            to=to,
            weeks=[
                WeekActivity(
                    week_start=w.week,
                    interactions=w.interactions,
                    given=w.given,
                    received=w.received,
                    average_sentiment=None if w.sentiment is None else round(w.sentiment, 4),
                )
                for w in weeks
            ],
            interactions=sum(w.interactions for w in weeks),
            new_contacts=new_contacts,
            given=sum(w.given for w in weeks),
            received=sum(w.received for w in weeks),
            average_sentiment=round(total_sentiment / scored, 4) if scored else None,
            health=_health_counts(contacts, facts, at),
        )


__all__ = ["SummaryQuery"]
