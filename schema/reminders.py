"""The agenda and reminders: what is due, by day, and the reminders the user keeps.

The agenda and the pushes come from the same rules (``insights.agenda``), so the home
screen and the phone agree on what is due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
import strawberry
from strawberry.types import Info

from insights.agenda import collect_events, due_occurrence
from model.agenda import Event, Kind
from model.clock import local_today
from model.enums import RepeatUnit
from model.ids import parse_uuid
from model.pages import DEFAULT_PAGE
from schema.context import Context
from schema.errors import Conflict, Deleted, NotFound, ValidationError, bad_input
from schema.inputs import to_patch
from schema.mutation import DeleteResult
from schema.nodes import Contact
from schema.notifications import maybe_id
from schema.pagination import Connection, build_connection, check_first, counting, read_after
from schema.write import run_write
from store import accounts
from store import notifications as store
from store.agenda import Window, load_facts, reminder_of
from sync import reminder as reminders
from sync.entity import new_id
from sync.writer import Writer

MAX_AGENDA_DAYS = 366

strawberry.enum(RepeatUnit, description="The unit a reminder repeats in.")


@strawberry.type(description="Something due on a day: what the pushes and the home screen show.")
class AgendaItem:
    kind: Kind
    date: dt.date = strawberry.field(
        description="The day it is due (today when overdue; a snoozed reminder's snooze day)."
    )
    title: str = strawberry.field(description="The contact's name or the reminder's title.")
    years: int | None = strawberry.field(
        description="The age turned (birthday with a year) or years at work (anniversary)."
    )
    overdue_since: dt.date | None = strawberry.field(
        description="The day an overdue follow-up or reminder fell due; null when not overdue."
    )
    time: dt.time | None = strawberry.field(description="A reminder's chosen time, if any.")
    contact_id: strawberry.ID | None
    reminder_id: strawberry.ID | None

    @strawberry.field
    async def contact(self, info: Info[Context, None]) -> Contact | None:
        if self.contact_id is None:
            return None
        loaders = await info.context.loaders()
        row = await loaders.contact.load(UUID(self.contact_id))
        return None if row is None else Contact.from_row(row)

    @classmethod
    def from_event(cls, event: Event) -> AgendaItem:
        return cls(
            kind=event.kind,
            date=event.day,
            title=event.title,
            years=event.years,
            overdue_since=event.due_since,
            time=event.at,
            contact_id=maybe_id(event.contact_id),
            reminder_id=maybe_id(event.reminder_id),
        )


@strawberry.type(description="Something to do, once or again and again.")
class Reminder:
    id: strawberry.ID
    title: str
    notes: str | None
    due_on: dt.date = strawberry.field(description="The first (or only) day it is due.")
    due_time: dt.time | None
    repeat_unit: RepeatUnit | None
    repeat_every: int | None
    lead_days: list[int] | None
    contact_id: strawberry.ID | None
    snoozed_until: dt.date | None
    completed_through: dt.date | None = strawberry.field(
        description="The last occurrence marked done."
    )
    next_occurrence: dt.date | None = strawberry.field(
        description="The occurrence due now or next (behind schedule, the latest one up to "
        "today; snoozed, it keeps its date); null once a one-time reminder is done."
    )

    @classmethod
    def from_written(cls, written: tuple[Any, dt.date]) -> Reminder:
        """A reminder just written, with the owner's local today at the write."""
        return cls.from_row(*written)

    @classmethod
    def from_row(cls, row: Any, today: dt.date) -> Reminder:
        """The reminder as of the owner's local ``today`` (which occurrence is due)."""
        facts = reminder_of(row)
        due = due_occurrence(facts, today)
        return cls(
            id=strawberry.ID(str(facts.id)),
            title=facts.title,
            notes=facts.notes,
            due_on=facts.due_on,
            due_time=facts.due_time,
            repeat_unit=facts.repeat_unit,
            repeat_every=facts.repeat_every,
            lead_days=None if facts.lead_days is None else list(facts.lead_days),
            contact_id=maybe_id(facts.contact_id),
            snoozed_until=facts.snoozed_until,
            completed_through=facts.completed_through,
            next_occurrence=None if due is None else due.occurrence,
        )


@strawberry.input(description="Fields of a reminder. Omitted fields stay as they are.")
class UpdateReminderInput:
    title: str | None = strawberry.UNSET
    notes: str | None = strawberry.UNSET
    due_on: dt.date | None = strawberry.UNSET
    due_time: dt.time | None = strawberry.UNSET
    repeat_unit: RepeatUnit | None = strawberry.UNSET
    repeat_every: int | None = strawberry.field(
        default=strawberry.UNSET, description="Repeat every N units (1-1000); default 1."
    )
    lead_days: list[int] | None = strawberry.field(
        default=strawberry.UNSET, description="Days before each occurrence to notify (0-365)."
    )
    contact_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input(description="A new reminder; title and dueOn are required.")
class CreateReminderInput(UpdateReminderInput):
    title: str
    due_on: dt.date


ReminderResult = Annotated[
    Reminder | ValidationError | NotFound | Conflict, strawberry.union("ReminderResult")
]


@strawberry.type
class ReminderQuery:
    @strawberry.field(
        description="What is due in the next `days` days, by day (today's overdue items "
        "first, oldest first): birthdays, work anniversaries, follow-ups and reminders. "
        "The home screen."
    )
    async def upcoming(self, info: Info[Context, None], days: int = 7) -> list[AgendaItem]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        if not 1 <= days <= MAX_AGENDA_DAYS:
            raise bad_input("days", f"ask for 1 to {MAX_AGENDA_DAYS} days ahead")
        async with ctx.engine.connect() as conn:
            user = await accounts.get_user(conn, user_id=owner_id)
            assert user is not None
            today = local_today(ctx.clock.now(), user["time_zone"])
            last = today + dt.timedelta(days=days - 1)
            # Only contacts with something in these days (or overdue) are read.
            window = Window(today, last, overdue=True, own_leads=False)
            owners, contacts, reminders = await load_facts(conn, [owner_id], window)
        events = collect_events(
            owners[owner_id],
            contacts.get(owner_id, []),
            reminders.get(owner_id, []),
            today,
            last,
        )
        return [AgendaItem.from_event(event) for event in events]

    @strawberry.field(description="Your reminders, by the day they are first due.")
    async def reminders(
        self, info: Info[Context, None], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Reminder]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        cursor = read_after("reminders", store.BY_DUE, after)
        async with ctx.engine.connect() as conn:
            user = await accounts.get_user(conn, user_id=owner_id)
            assert user is not None
            rows = await store.list_reminders(
                conn, owner_id=owner_id, after=cursor, limit=first + 1
            )
        today = local_today(ctx.clock.now(), user["time_zone"])
        count = counting(ctx.engine, store.count_reminders, owner_id=owner_id)
        return build_connection(
            rows,
            first,
            "reminders",
            store.BY_DUE,
            lambda row: Reminder.from_row(row, today),
            count,
            after=cursor is not None,
        )


@strawberry.type
class ReminderMutation:
    @strawberry.mutation(description="Create a reminder, once or repeating.")
    async def create_reminder(
        self, info: Info[Context, None], input: CreateReminderInput
    ) -> ReminderResult:
        patch = to_patch(input)
        return await run_write(
            info.context,
            lambda w: _as_of_today(w, reminders.put_reminder(w, new_id(), patch)),
            Reminder.from_written,
        )

    @strawberry.mutation(description="Change the fields you send; the others stay.")
    async def update_reminder(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateReminderInput
    ) -> ReminderResult:
        patch = to_patch(input)
        return await run_write(
            info.context,
            lambda w: _as_of_today(
                w, reminders.put_reminder(w, parse_uuid("id", id), patch, must_exist=True)
            ),
            Reminder.from_written,
        )

    @strawberry.mutation(
        description="Mark the occurrence due now (nextOccurrence) as done, with the later "
        "ones its snooze covered, and clear the snooze; a repeating reminder moves on to the "
        "occurrence after them."
    )
    async def complete_reminder(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ReminderResult:
        return await run_write(
            info.context,
            lambda w: _as_of_today(w, reminders.complete_reminder(w, parse_uuid("id", id))),
            Reminder.from_written,
            conflict=True,
        )

    @strawberry.mutation(
        description="Move the occurrence due now to a later day; later occurrences up to that "
        "day are covered by the snooze (not shown or pushed)."
    )
    async def snooze_reminder(
        self, info: Info[Context, None], id: strawberry.ID, until: dt.date
    ) -> ReminderResult:
        return await run_write(
            info.context,
            lambda w: _as_of_today(w, reminders.snooze_reminder(w, parse_uuid("id", id), until)),
            Reminder.from_written,
        )

    @strawberry.mutation(description="Delete a reminder; restoreReminder brings it back.")
    async def delete_reminder(self, info: Info[Context, None], id: strawberry.ID) -> DeleteResult:
        return await run_write(
            info.context,
            lambda w: reminders.delete_reminder(w, parse_uuid("id", id)),
            lambda _: Deleted(id=id, entity="reminder"),
        )


async def _as_of_today(w: Writer, write: Awaitable[sa.RowMapping]) -> tuple[sa.RowMapping, dt.date]:
    """The written row with the owner's local today, which decides the occurrence due."""
    return await write, local_today(w.now, w.time_zone)


__all__ = ["ReminderMutation", "ReminderQuery"]
