"""Networking goals, events and the weekly review: types, queries and mutations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from insights import goal
from model.enums import AttendeeStatus, Metric, Period
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import NotFound, ValidationError
from schema.inputs import to_patch
from schema.nodes import Contact
from schema.pagination import check_first
from schema.write import run_write
from store import accounts
from store import networking as store
from sync import event as event_writes
from sync import goal as goal_writes
from sync.entity import new_id

strawberry.enum(Metric, name="GoalMetric", description="What a goal counts.")
strawberry.enum(Period, name="GoalPeriod", description="The window a goal counts over.")
strawberry.enum(AttendeeStatus, description="Planned to meet at an event, or met there.")


async def owner_zone(ctx: Context, owner_id: UUID) -> ZoneInfo:
    async with ctx.engine.connect() as conn:
        user = await accounts.get_user(conn, user_id=owner_id)
    assert user is not None
    return ZoneInfo(user["time_zone"])


def day_bounds(start: dt.date, end: dt.date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the instants that begin ``start`` and end ``end`` in the owner's time zone."""
    return (
        datetime.combine(start, time(0), zone),
        datetime.combine(end + timedelta(days=1), time(0), zone),
    )


@strawberry.type(description="Something that counted towards a goal.")
class GoalItem:
    id: strawberry.ID
    at: dt.datetime
    label: str


@strawberry.type(description="How far a goal is in its current window, counted from your data.")
class GoalProgress:
    current: int
    target: int
    done: bool
    window_start: dt.date
    window_end: dt.date = strawberry.field(description="The last day counted.")
    items: list[GoalItem] = strawberry.field(
        description="What counted (at most 100), oldest first."
    )

    @classmethod
    def from_progress(cls, progress: goal.Progress[Any]) -> GoalProgress:
        return cls(
            current=progress.current,
            target=progress.target,
            done=progress.done,
            window_start=progress.window.start,
            window_end=progress.window.end,
            items=[
                GoalItem(id=strawberry.ID(str(i.key)), at=i.at, label=i.label)
                for i in progress.items[: store.MAX_ITEMS]
            ],
        )


@strawberry.type
class Goal:
    id: strawberry.ID
    title: str
    description: str | None
    metric: Metric
    target: int
    period: Period
    starts_on: dt.date
    ends_on: dt.date | None
    tag_id: strawberry.ID | None = strawberry.field(
        description="MEET_NEW_PEOPLE, MEET_TARGETS: only contacts with this tag count."
    )
    archived: bool

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Goal:
        return cls(
            id=strawberry.ID(str(row["id"])),
            title=row["title"],
            description=row["description"],
            metric=Metric(row["metric"]),
            target=row["target"],
            period=Period(row["period"]),
            starts_on=row["starts_on"],
            ends_on=row["ends_on"],
            tag_id=None if row["tag_id"] is None else strawberry.ID(str(row["tag_id"])),
            archived=row["archived"],
        )

    @strawberry.field(
        description="Progress in the window that holds today; null when the goal's dates "
        "fall outside 1900-01-01..2199-12-31 (set before that rule): change them to count."
    )
    async def progress(self, info: Info[Context, None]) -> GoalProgress | None:
        ctx = info.context
        owner_id = await ctx.owner_id()
        zone = await owner_zone(ctx, owner_id)
        today = ctx.clock.now().astimezone(zone).date()
        window = goal.current_window(self.period, self.starts_on, self.ends_on, today)
        if window is None:
            return None
        start, end = day_bounds(window.start, window.end, zone)
        async with ctx.engine.connect() as conn:
            rows = await store.goal_items(
                conn,
                owner_id=owner_id,
                metric=self.metric.value,
                start=start,
                end=end,
                tag_id=None if self.tag_id is None else UUID(self.tag_id),
                goal_id=UUID(self.id),
            )
        progress = goal.measure_rows(self.metric, self.target, window, rows, zone)
        return GoalProgress.from_progress(progress)


@strawberry.type(description="A contact on an event's list.")
class Attendee:
    contact: Contact
    status: AttendeeStatus
    note: str | None


@strawberry.type
class Event:
    id: strawberry.ID
    name: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    location: str | None
    url: str | None
    notes: str | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Event:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            location=row["location"],
            url=row["url"],
            notes=row["notes"],
        )

    @strawberry.field(description="People you plan to meet there, and people you met.")
    async def attendees(self, info: Info[Context, None]) -> list[Attendee]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        async with ctx.engine.connect() as conn:
            found = await store.attendees_of(conn, owner_id=owner_id, event_ids=[UUID(self.id)])
        return [
            Attendee(
                contact=Contact.from_row(row),
                status=AttendeeStatus(row["status"]),
                note=row["attendee_note"],
            )
            for row in found.get(UUID(self.id), [])
        ]

    @strawberry.field(description="People you met there with nothing logged since: follow up.")
    async def follow_ups_due(self, info: Info[Context, None]) -> list[Contact]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        async with ctx.engine.connect() as conn:
            rows = await store.follow_ups_due(
                conn, owner_id=owner_id, event_id=UUID(self.id), since=self.starts_at
            )
        return [Contact.from_row(row) for row in rows]


@strawberry.input
class UpdateGoalInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    metric: Metric | None = strawberry.UNSET
    target: int | None = strawberry.UNSET
    period: Period | None = strawberry.UNSET
    starts_on: dt.date | None = strawberry.UNSET
    ends_on: dt.date | None = strawberry.UNSET
    tag_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input(description="A goal: a target for a metric over a period.")
class CreateGoalInput(UpdateGoalInput):
    title: str
    metric: Metric
    target: int = strawberry.field(description="1 to 100,000.")
    period: Period
    starts_on: dt.date


@strawberry.input
class UpdateEventInput:
    name: str | None = strawberry.UNSET
    starts_at: dt.datetime | None = strawberry.UNSET
    ends_at: dt.datetime | None = strawberry.UNSET
    location: str | None = strawberry.UNSET
    url: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET


@strawberry.input(description="A networking event.")
class CreateEventInput(UpdateEventInput):
    name: str
    starts_at: dt.datetime


GoalResult = Annotated[Goal | ValidationError | NotFound, strawberry.union("GoalResult")]
EventResult = Annotated[Event | ValidationError | NotFound, strawberry.union("EventResult")]


@strawberry.type
class NetworkingQuery:
    @strawberry.field(description="Your networking goals with their progress.")
    async def goals(self, info: Info[Context, None], include_archived: bool = False) -> list[Goal]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        async with ctx.engine.connect() as conn:
            rows = await store.list_goals(
                conn, owner_id=owner_id, include_archived=include_archived
            )
        return [Goal.from_row(row) for row in rows]

    @strawberry.field(description="Your networking events, latest first.")
    async def events(self, info: Info[Context, None], first: int = 20) -> list[Event]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        async with ctx.engine.connect() as conn:
            rows = await store.list_events(conn, owner_id=owner_id, limit=first)
        return [Event.from_row(row) for row in rows]


def _goal_patch(input: Any) -> dict[str, Any]:
    patch: dict[str, Any] = to_patch(input)
    if patch.get("tagId") is not None:
        patch["tagId"] = parse_uuid("tagId", patch["tagId"])
    return patch


@strawberry.type
class NetworkingMutation:
    @strawberry.mutation(description="Set a networking goal.")
    async def create_goal(self, info: Info[Context, None], input: CreateGoalInput) -> GoalResult:
        return await run_write(
            info.context,
            lambda w: goal_writes.put_goal(w, new_id(), _goal_patch(input)),
            Goal.from_row,
        )

    @strawberry.mutation(description="Change the fields you send; the others stay.")
    async def update_goal(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateGoalInput
    ) -> GoalResult:
        return await run_write(
            info.context,
            lambda w: goal_writes.put_goal(
                w, parse_uuid("id", id), _goal_patch(input), must_exist=True
            ),
            Goal.from_row,
        )

    @strawberry.mutation(description="Archive a goal: kept, but no longer listed by default.")
    async def archive_goal(self, info: Info[Context, None], id: strawberry.ID) -> GoalResult:
        return await run_write(
            info.context,
            lambda w: goal_writes.put_goal(
                w, parse_uuid("id", id), {"archived": True}, must_exist=True
            ),
            Goal.from_row,
        )

    @strawberry.mutation(description="Add a networking event.")
    async def create_event(self, info: Info[Context, None], input: CreateEventInput) -> EventResult:
        return await run_write(
            info.context,
            lambda w: event_writes.put_event(w, new_id(), to_patch(input)),
            Event.from_row,
        )

    @strawberry.mutation(description="Change the fields you send; the others stay.")
    async def update_event(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateEventInput
    ) -> EventResult:
        return await run_write(
            info.context,
            lambda w: event_writes.put_event(
                w, parse_uuid("id", id), to_patch(input), must_exist=True
            ),
            Event.from_row,
        )

    @strawberry.mutation(description="Put a contact on an event's list: planned to meet, or met.")
    async def add_event_attendee(
        self,
        info: Info[Context, None],
        event_id: strawberry.ID,
        contact_id: strawberry.ID,
        status: AttendeeStatus = AttendeeStatus.MET,
        note: str | None = None,
    ) -> EventResult:
        fields: dict[str, Any] = {"status": status.value}
        if note is not None:
            fields["note"] = note
        return await run_write(
            info.context,
            lambda w: event_writes.attend_event(
                w, parse_uuid("eventId", event_id), parse_uuid("contactId", contact_id), fields
            ),
            Event.from_row,
        )
