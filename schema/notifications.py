"""Devices and the pushes sent to them: the app's view of the pipeline.

docs/notifications.md explains the pipeline; the agenda and reminders are in ``reminders``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from enum import Enum
from typing import Annotated, Any

import sqlalchemy as sa
import strawberry
from strawberry.types import Info

from model.agenda import Kind
from model.ids import parse_uuid
from model.pages import DEFAULT_PAGE
from schema.context import Context
from schema.errors import VALIDATION, Deleted, NotFound, ValidationError
from schema.mutation import DeleteResult
from schema.pagination import Connection, build_connection, check_first, counting, read_after
from schema.write import run_call
from store import notifications as store
from sync import device as devices

strawberry.enum(Kind, name="AgendaKind", description="What an agenda item or push is about.")


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
    def from_row(cls, row: Any, deliveries: Sequence[Any]) -> Notification:
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
            contact_id=maybe_id(data.get("contactId")),
            reminder_id=maybe_id(data.get("reminderId")),
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


def maybe_id(value: Any) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.input(description="Register a push token; sending the same token again updates it.")
class RegisterDeviceInput:
    token: str
    platform: Platform
    app_version: str | None = None
    locale: str | None = None


DeviceResult = Annotated[Device | ValidationError, strawberry.union("DeviceResult")]
NotificationResult = Annotated[
    Notification | NotFound | ValidationError, strawberry.union("NotificationResult")
]


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
        count = counting(ctx.engine, store.count_notifications, owner_id=owner_id)
        return build_connection(
            rows,
            first,
            "notifications",
            store.HISTORY,
            lambda row: Notification.from_row(row, deliveries.get(row["id"], [])),
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
        return await run_call(
            lambda: devices.register_device(
                ctx.engine,
                owner_id,
                ctx.clock,
                token=input.token,
                platform=input.platform.value,
                app_version=input.app_version,
                locale=input.locale,
            ),
            Device.from_row,
            VALIDATION,
        )

    @strawberry.mutation(description="Stop pushes to a device (for example on sign-out).")
    async def unregister_device(self, info: Info[Context, None], id: strawberry.ID) -> DeleteResult:
        ctx = info.context

        async def unregister() -> bool:
            # The id is judged before the token, as it always was.
            device_id = parse_uuid("id", id)
            return await devices.unregister_device(ctx.engine, await ctx.owner_id(), device_id)

        return await run_call(
            unregister,
            lambda found: (
                Deleted(id=id, entity="device")
                if found
                else NotFound(message=f"no device with id {id}", entity="device", id=id)
            ),
            VALIDATION,
        )

    @strawberry.mutation(
        description="Record that the user opened a push. A push no device has received (not "
        "sent yet, missed, failed) is a ValidationError, and nothing changes."
    )
    async def mark_notification_opened(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> NotificationResult:
        ctx = info.context

        async def mark() -> tuple[sa.RowMapping, Sequence[sa.RowMapping]] | None:
            notification_id = parse_uuid("id", id)  # before the token, as it always was
            return await devices.mark_opened(
                ctx.engine, await ctx.owner_id(), ctx.clock, notification_id
            )

        return await run_call(
            mark,
            lambda opened: (
                Notification.from_row(*opened)
                if opened is not None
                else NotFound(message=f"no notification with id {id}", entity="notification", id=id)
            ),
            VALIDATION,
        )


__all__ = ["NotificationMutation", "NotificationQuery"]
