"""Devices, the pushes sent to them, the agenda they come from, and reminders.

docs/notifications.md explains the pipeline; these fields are the app's view of it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable
from enum import Enum
from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
import strawberry
from strawberry.types import Info

from model import errors
from model.clock import local_today
from model.enums import RepeatUnit
from model.ids import parse_uuid
from model.text import find_hidden_character
from notifications.plan import Event, Kind, collect_events, due_occurrence
from notifications.planner import Window, load_facts, reminder_of
from schema.context import Context
from schema.errors import Conflict, Deleted, NotFound, ValidationError, bad_input, validation_error
from schema.inputs import to_patch
from schema.mutation import DeleteResult
from schema.nodes import Contact
from schema.pagination import DEFAULT_PAGE, Connection, build_connection, check_first, read_after
from schema.write import run_write
from store import accounts
from store import notifications as store
from sync import reminder as reminders
from sync.entity import REMINDER, new_id
from sync.writer import Writer

MAX_TOKEN = 4096
MAX_AGENDA_DAYS = 366

strawberry.enum(Kind, name="AgendaKind", description="What an agenda item or push is about.")
strawberry.enum(RepeatUnit, description="The unit a reminder repeats in.")


@strawberry.enum(description="The app a push token belongs to.")
class Platform(Enum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


@strawberry.enum(description="Where a push is: waiting, being sent, or done and how.")
class NotificationStatus(Enum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    MISSED = "MISSED"
    NO_DEVICE = "NO_DEVICE"
    CANCELLED = strawberry.enum_value(
        "CANCELLED",
        description="Tried, then no longer wanted before any device got it: the reminder was "
        "completed or deleted, or the event changed.",
    )


@strawberry.type(description="A phone or browser that receives your pushes.")
class Device:
    id: strawberry.ID
    platform: Platform
    app_version: str | None
    locale: str | None
    active: bool = strawberry.field(description="False once FCM said its token is dead.")
    disabled_reason: str | None
    token_suffix: str = strawberry.field(description="The token's last 6 characters.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: Any) -> Device:
        return cls(
            id=strawberry.ID(str(row["id"])),
            platform=Platform(row["platform"]),
            app_version=row["app_version"],
            locale=row["locale"],
            active=row["active"],
            disabled_reason=row["disabled_reason"],
            token_suffix=row["token"][-6:],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@strawberry.type(description="One device's outcome for one attempt.")
class Delivery:
    device_id: strawberry.ID
    platform: str | None
    outcome: str = strawberry.field(description="DELIVERED, DEAD_TOKEN, TRANSIENT or FAILED.")
    error_code: str | None
    attempted_at: dt.datetime


@strawberry.type(description="A push: what it said, when it went, to which devices.")
class Notification:
    id: strawberry.ID
    kind: Kind
    title: str
    body: str
    status: NotificationStatus
    occurrence: dt.date = strawberry.field(description="The day of the event it is about.")
    lead_days: int
    send_at: dt.datetime
    sent_at: dt.datetime | None = strawberry.field(
        description="When the first device got it; set while other devices are retried."
    )
    opened_at: dt.datetime | None
    attempts: int
    last_error: str | None = strawberry.field(
        description="Why the last attempt did not reach every device, if it did not."
    )
    contact_id: strawberry.ID | None
    reminder_id: strawberry.ID | None
    deliveries: list[Delivery]

    @classmethod
    def from_row(cls, row: Any, deliveries: list[Any]) -> Notification:
        data = row["data"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            kind=Kind(row["kind"]),
            title=row["title"],
            body=row["body"],
            status=NotificationStatus(row["status"]),
            occurrence=row["occurrence"],
            lead_days=row["lead_days"],
            send_at=row["send_at"],
            sent_at=row["sent_at"],
            opened_at=row["opened_at"],
            attempts=row["attempts"],
            last_error=row["last_error"],
            contact_id=_maybe_id(data.get("contactId")),
            reminder_id=_maybe_id(data.get("reminderId")),
            deliveries=[
                Delivery(
                    device_id=strawberry.ID(str(d["device_id"])),
                    platform=d["platform"],
                    outcome=d["outcome"],
                    error_code=d["error_code"],
                    attempted_at=d["attempted_at"],
                )
                for d in deliveries
            ],
        )


def _maybe_id(value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


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
            contact_id=_maybe_id(event.contact_id),
            reminder_id=_maybe_id(event.reminder_id),
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
        due = due_occurrence(reminder_of(row), today)
        return cls(
            id=strawberry.ID(str(row["id"])),
            title=row["title"],
            notes=row["notes"],
            due_on=row["due_on"],
            due_time=row["due_time"],
            repeat_unit=RepeatUnit(row["repeat_unit"]) if row["repeat_unit"] else None,
            repeat_every=row["repeat_every"],
            lead_days=row["lead_days"],
            contact_id=_maybe_id(row["contact_id"]),
            snoozed_until=row["snoozed_until"],
            completed_through=row["completed_through"],
            next_occurrence=None if due is None else due.occurrence,
        )


@strawberry.input(description="Register a push token; sending the same token again updates it.")
class RegisterDeviceInput:
    token: str
    platform: Platform
    app_version: str | None = None
    locale: str | None = None


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


DeviceResult = Annotated[Device | ValidationError, strawberry.union("DeviceResult")]
NotificationResult = Annotated[
    Notification | NotFound | ValidationError, strawberry.union("NotificationResult")
]
ReminderResult = Annotated[
    Reminder | ValidationError | NotFound | Conflict, strawberry.union("ReminderResult")
]


def _check_token(token: str) -> str | None:
    token = token.strip()
    if not token:
        return "send the FCM registration token the app received"
    if (hidden := find_hidden_character(token)) is not None:
        return (
            f"remove the control or invisible character ({hidden}): send the token as FCM gave it"
        )
    if len(token) > MAX_TOKEN or any(c.isspace() for c in token):
        return f"an FCM token is one word of at most {MAX_TOKEN} characters"
    return None


def _check_label(value: str | None) -> str | None:
    if value is None:
        return None
    if (hidden := find_hidden_character(value)) is not None:
        return f"remove the control or invisible character ({hidden})"
    if len(value) > 64:
        return "use at most 64 characters"
    return None


@strawberry.type
class NotificationQuery:
    @strawberry.field(description="Your registered devices.")
    async def devices(self, info: Info[Context, None]) -> list[Device]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        async with ctx.engine.connect() as conn:
            rows = await store.list_devices(conn, owner_id=owner_id)
        return [Device.from_row(row) for row in rows]

    @strawberry.field(
        description="Pushes sent (or tried), newest first, with each device's outcome."
    )
    async def notifications(
        self, info: Info[Context, None], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Notification]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        cursor = read_after("notifications", store.HISTORY, after)
        async with ctx.engine.connect() as conn:
            rows = await store.list_notifications(
                conn, owner_id=owner_id, after=cursor, limit=first + 1
            )
            deliveries = await store.list_deliveries(
                conn, owner_id=owner_id, notification_ids=[row["id"] for row in rows[:first]]
            )

        async def count() -> int:
            async with ctx.engine.connect() as conn:
                return await store.count_notifications(conn, owner_id=owner_id)

        return build_connection(
            rows,
            first,
            "notifications",
            store.HISTORY,
            lambda row: Notification.from_row(row, deliveries.get(row["id"], [])),
            count,
            after=cursor is not None,
        )

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

        async def count() -> int:
            async with ctx.engine.connect() as conn:
                return await store.count_reminders(conn, owner_id=owner_id)

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
class NotificationMutation:
    @strawberry.mutation(
        description="Register this install's FCM token. A token registered before (by you or "
        "another account on the same phone) moves to you; it is never duplicated."
    )
    async def register_device(
        self, info: Info[Context, None], input: RegisterDeviceInput
    ) -> DeviceResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        problems = []
        if (problem := _check_token(input.token)) is not None:
            problems.append(errors.FieldError("token", problem))
        for name, value in (("appVersion", input.app_version), ("locale", input.locale)):
            if (problem := _check_label(value)) is not None:
                problems.append(errors.FieldError(name, problem))
        if problems:
            return validation_error(errors.ValidationFailed(problems))
        async with ctx.engine.begin() as conn:
            row = await store.register_device(
                conn,
                owner_id=owner_id,
                device_id=uuid.uuid4(),
                token=input.token.strip(),
                platform=input.platform.value,
                app_version=input.app_version,
                locale=input.locale,
                now=ctx.clock.now(),
            )
        return Device.from_row(row)

    @strawberry.mutation(description="Stop pushes to a device (for example on sign-out).")
    async def unregister_device(self, info: Info[Context, None], id: strawberry.ID) -> DeleteResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        try:
            device_id = parse_uuid("id", id)
        except errors.ValidationFailed as exc:
            return validation_error(exc)
        async with ctx.engine.begin() as conn:
            found = await store.delete_device(conn, owner_id=owner_id, device_id=device_id)
        if not found:
            return NotFound(message=f"no device with id {id}", entity="device", id=id)
        return Deleted(id=id, entity="device")

    @strawberry.mutation(
        description="Record that the user opened a push. A push no device has received (not "
        "sent yet, missed, failed) is a ValidationError, and nothing changes."
    )
    async def mark_notification_opened(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> NotificationResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        try:
            notification_id = parse_uuid("id", id)
        except errors.ValidationFailed as exc:
            return validation_error(exc)
        async with ctx.engine.begin() as conn:
            row = await store.mark_opened(
                conn, owner_id=owner_id, notification_id=notification_id, now=ctx.clock.now()
            )
            if row is None:
                if await store.has_notification(
                    conn, owner_id=owner_id, notification_id=notification_id
                ):
                    problem = errors.FieldError(
                        "id", "no device has received this push: mark it when the app shows it"
                    )
                    return validation_error(errors.ValidationFailed([problem]))
                return NotFound(
                    message=f"no notification with id {id}", entity="notification", id=id
                )
            deliveries = await store.list_deliveries(
                conn, owner_id=owner_id, notification_ids=[notification_id]
            )
        return Notification.from_row(row, deliveries.get(notification_id, []))

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
            lambda w: _as_of_today(w, _complete(w, parse_uuid("id", id))),
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


async def _complete(w: Writer, reminder_id: UUID) -> sa.RowMapping:
    row = await w.load(REMINDER, {"id": reminder_id})
    if row is None or row["cl"] % 2 == 0:
        raise errors.NotFound("reminder", reminder_id)
    due = due_occurrence(reminder_of(row), local_today(w.now, w.time_zone))
    if due is None:
        raise errors.Conflict("this reminder is already done")
    # Synced fields, so every device agrees on what is done (docs/sync.md).
    values = {"completedThrough": due.through, "snoozedUntil": None}
    written, _ = await w.put(REMINDER, {"id": reminder_id}, values, loaded=(row,))
    return written


__all__ = ["NotificationMutation", "NotificationQuery"]
