"""The weekly review: activity, balance, sentiment and health over a range of days."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from insights import health, review
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

    @classmethod
    def from_row(cls, row: Any) -> WeekActivity:
        return cls(
            week_start=row.week,
            interactions=row.interactions,
            given=row.given,
            received=row.received,
            average_sentiment=None if row.sentiment is None else round(row.sentiment, 4),
        )


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
        totals = review.sum_weeks(weeks)
        buckets = review.count_buckets(contacts, facts, at)
        return NetworkSummary(
            from_=from_,
            to=to,
            weeks=[WeekActivity.from_row(w) for w in weeks],
            interactions=totals.interactions,
            new_contacts=new_contacts,
            given=totals.given,
            received=totals.received,
            average_sentiment=totals.average_sentiment,
            health=[BucketCount(bucket=b, count=buckets[b]) for b in health.Bucket],
        )


__all__ = ["SummaryQuery"]
