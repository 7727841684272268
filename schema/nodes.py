"""The object types a client reads: users, contacts, interactions and tags.

They are built from Core rows (DESIGN §10: no ORM objects on the read path). Fields that need
other rows resolve through the request's loaders, so a page costs a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from insights import health as health_model
from model.pages import DEFAULT_PAGE
from schema import scores
from schema.context import Context
from schema.enums import Channel, Importance, InteractionKind, Stage
from schema.pagination import Connection, build_connection, check_first, counting, read_after
from schema.scores import Sentiment
from store import interactions as interaction_store

if TYPE_CHECKING:
    from schema.offer import FollowUpOffer


@strawberry.type(description="A labelled value such as a work email or a mobile number.")
class LabeledValue:
    label: str
    value: str


@strawberry.type(description="A birthday; the year is optional.")
class Birthday:
    month: int
    day: int
    year: int | None


@strawberry.type(description="Days before each kind of event that pushes arrive (0 = that day).")
class LeadDays:
    birthday: list[int]
    anniversary: list[int]
    follow_up: list[int]
    reminder: list[int]

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> LeadDays:
        return cls(
            birthday=list(value.get("birthday", [0, 7])),
            anniversary=list(value.get("anniversary", [0])),
            follow_up=list(value.get("followUp", [0])),
            reminder=list(value.get("reminder", [0])),
        )


@strawberry.type
class User:
    id: strawberry.ID
    email: str | None
    email_verified: bool = strawberry.field(
        description="Whether you proved `email` is yours (the link sent at sign-up, a confirmed "
        "email change, or Firebase's email_verified). Colleague invitations need it."
    )
    display_name: str
    time_zone: str = strawberry.field(description="IANA time zone reminders are planned in.")
    reminder_hour: int = strawberry.field(description="Local hour (0-23) reminders arrive at.")
    quiet_hours_start: dt.time | None
    quiet_hours_end: dt.time | None
    daily_digest: bool = strawberry.field(description="One push a day listing everything due.")
    sentiment_enabled: bool = strawberry.field(
        description="Whether interaction text is scored for sentiment."
    )
    lead_days: LeadDays = strawberry.field(
        description="Days before each kind of event that pushes arrive."
    )
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> User:
        return cls(
            id=strawberry.ID(str(row["id"])),
            email=row["email"],
            email_verified=row["email_verified_at"] is not None,
            display_name=row["display_name"],
            time_zone=row["time_zone"],
            reminder_hour=row["reminder_hour"],
            quiet_hours_start=row["quiet_hours_start"],
            quiet_hours_end=row["quiet_hours_end"],
            daily_digest=row["daily_digest"],
            sentiment_enabled=row["sentiment_enabled"],
            lead_days=LeadDays.from_json(row["lead_days"]),
            created_at=row["created_at"],
        )


@strawberry.type(description="Tokens for a signed-in session.")
class AuthPayload:
    access_token: str = strawberry.field(
        description="Send as 'Authorization: Bearer <token>'; expires at expiresAt."
    )
    refresh_token: str = strawberry.field(
        description="Trade for a new pair with refreshSession; each one works once."
    )
    expires_at: dt.datetime
    user: User


@strawberry.type(
    description="A signed-in session: one sign-in on one device, until it is signed out, "
    "revoked or its refresh tokens expire. Last use is not tracked."
)
class Session:
    id: strawberry.ID
    created_at: dt.datetime = strawberry.field(description="When this sign-in happened.")
    expires_at: dt.datetime = strawberry.field(
        description="When its refresh tokens stop working, unless it ends sooner."
    )
    current: bool = strawberry.field(description="True for the session making this request.")


@strawberry.type
class Tag:
    id: strawberry.ID
    name: str
    color: str | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Tag:
        return cls(id=strawberry.ID(str(row["id"])), name=row["name"], color=row["color"])


def _labeled(values: list[dict[str, str]]) -> list[LabeledValue]:
    return [LabeledValue(label=v.get("label", ""), value=v["value"]) for v in values]


@strawberry.type
class Interaction:
    id: strawberry.ID
    kind: InteractionKind
    occurred_at: dt.datetime
    summary: str
    body: str | None
    given: str | None = strawberry.field(description="What you gave: a favour, a gift, an intro.")
    received: str | None = strawberry.field(description="What you received.")
    created_at: dt.datetime
    updated_at: dt.datetime
    server_version: strawberry.Private[int]
    sentiment: Sentiment | None = strawberry.field(
        default=None,
        description="How the summary and body read; null without text or with sentiment off.",
    )

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Interaction:
        return cls(
            id=strawberry.ID(str(row["id"])),
            kind=InteractionKind(row["kind"]),
            occurred_at=row["occurred_at"],
            summary=row["summary"],
            body=row["body"],
            given=row["given"],
            received=row["received"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            server_version=row["server_version"],
            sentiment=Sentiment.from_score(row["sentiment"]),
        )

    @strawberry.field(description="The people this interaction was with.")
    async def contacts(self, info: Info[Context, None]) -> list[Contact]:
        loaders = await info.context.loaders()
        ids = await loaders.participants.load(UUID(self.id))
        rows = await loaders.contact.load_many(ids)
        return [Contact.from_row(row) for row in rows if row is not None]

    @strawberry.field(
        description="A reminder to follow up, offered when this is a first meeting, call, "
        "video call, meal or event with someone and nothing else is logged with them; "
        "`afterDays` (0-29, default 3) after it. Null when none stands."
    )
    async def follow_up_offer(
        self, info: Info[Context, None], after_days: int = 3
    ) -> Annotated[FollowUpOffer, strawberry.lazy("schema.offer")] | None:
        from schema.offer import resolve_offer  # schema.offer builds on this module

        return await resolve_offer(
            info.context, UUID(self.id), self.kind.value, self.occurred_at, after_days
        )


@strawberry.type
class Contact:
    id: strawberry.ID
    first_name: str
    last_name: str
    company: str | None
    title: str | None
    emails: list[LabeledValue]
    phones: list[LabeledValue]
    urls: list[LabeledValue]
    birthday: Birthday | None
    work_started_on: dt.date | None = strawberry.field(
        description="When they started at their company; anniversaries count from it."
    )
    how_we_met: str | None
    interests: list[str]
    preferred_channel: Channel | None
    communication_notes: str | None
    cadence_days: int | None = strawberry.field(description="Keep in touch every N days.")
    snoozed_until: dt.date | None = strawberry.field(description="No follow-up before this day.")
    stage: Stage
    importance: Importance
    notes: str | None
    last_interaction_at: dt.datetime | None = strawberry.field(
        description="When you last interacted (computed by the server)."
    )
    next_follow_up_at: dt.datetime | None = strawberry.field(
        description="Last interaction + cadence, or the snooze date (computed by the server)."
    )
    lead_days: list[int] | None = strawberry.field(
        description="Days before their birthday and anniversary to notify; null: your default."
    )
    is_target: bool = strawberry.field(
        description="Someone you want to meet. A target is still to meet while targetMetAt "
        "is null; it stays marked after, so goals can count it."
    )
    target_reason: str | None = strawberry.field(description="Why this target matters to you.")
    target_goal_id: strawberry.ID | None = strawberry.field(
        description="The networking goal this target serves."
    )
    research_notes: str | None = strawberry.field(
        description="What you found out before meeting them."
    )
    target_met_at: dt.datetime | None = strawberry.field(
        description="When a target was first met: its first interaction that is not a NOTE, "
        "or the start of the first event it is marked MET at (computed by the server)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    introduced_by_id: strawberry.Private[Any]

    @strawberry.field(description="The full name, as a list shows it.")
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Contact:
        month = row["birthday_month"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            first_name=row["first_name"],
            last_name=row["last_name"],
            company=row["company"],
            title=row["title"],
            emails=_labeled(row["emails"]),
            phones=_labeled(row["phones"]),
            urls=_labeled(row["urls"]),
            birthday=None
            if month is None
            else Birthday(month=month, day=row["birthday_day"], year=row["birthday_year"]),
            work_started_on=row["work_started_on"],
            how_we_met=row["how_we_met"],
            interests=list(row["interests"]),
            preferred_channel=None
            if row["preferred_channel"] is None
            else Channel(row["preferred_channel"]),
            communication_notes=row["communication_notes"],
            cadence_days=row["cadence_days"],
            snoozed_until=row["snoozed_until"],
            stage=Stage(row["stage"]),
            importance=Importance(row["importance"]),
            notes=row["notes"],
            last_interaction_at=row["last_interaction_at"],
            next_follow_up_at=row["next_follow_up_at"],
            lead_days=row["lead_days"],
            is_target=row["is_target"],
            target_reason=row["target_reason"],
            target_goal_id=None
            if row["target_goal_id"] is None
            else strawberry.ID(str(row["target_goal_id"])),
            research_notes=row["research_notes"],
            target_met_at=row["target_met_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            introduced_by_id=row["introduced_by_id"],
        )

    @strawberry.field(description="The contact who introduced you, if recorded.")
    async def introduced_by(self, info: Info[Context, None]) -> Contact | None:
        if self.introduced_by_id is None:
            return None
        row = await (await info.context.loaders()).contact.load(self.introduced_by_id)
        return None if row is None else Contact.from_row(row)

    @strawberry.field
    async def tags(self, info: Info[Context, None]) -> list[Tag]:
        rows = await (await info.context.loaders()).tags_of_contact.load(UUID(self.id))
        return [Tag.from_row(row) for row in rows]

    @strawberry.field(description="Interactions with this contact, newest first.")
    async def interactions(
        self, info: Info[Context, None], first: int = DEFAULT_PAGE, after: str | None = None
    ) -> Connection[Interaction]:
        ctx = info.context
        first = check_first(first, ctx.max_page_size)
        keys = interaction_store.BY_CONTACT
        tag = f"interactions:{self.id}"
        cursor = read_after(tag, keys, after)
        owner_id = await ctx.owner_id()
        contact_id = UUID(self.id)
        if cursor is None:
            # The first page of many contacts at once is one batched query.
            rows = await (await ctx.loaders()).latest_interactions.load((contact_id, first + 1))
        else:
            async with ctx.engine.connect() as conn:
                rows = await interaction_store.list_interactions(
                    conn, owner_id=owner_id, contact_id=contact_id, after=cursor, limit=first + 1
                )
        count = counting(
            ctx.engine,
            interaction_store.count_interactions,
            owner_id=owner_id,
            contact_id=contact_id,
        )
        return build_connection(
            rows, first, tag, keys, Interaction.from_row, count, after=cursor is not None
        )

    def health_facts(self) -> health_model.ContactFacts:
        return health_model.ContactFacts(
            importance=self.importance.value,
            cadence_days=self.cadence_days,
            created_at=self.created_at,
        )

    @strawberry.field(description="Relationship health now, with the factors behind it.")
    async def health(self, info: Info[Context, None]) -> scores.RelationshipHealth:
        return await scores.resolve_health(info.context, self.health_facts(), UUID(self.id))

    @strawberry.field(description="The health score at the end of each of the last weeks.")
    async def health_history(
        self, info: Info[Context, None], weeks: int = 12
    ) -> list[scores.HealthPoint]:
        return await scores.resolve_history(info.context, self.health_facts(), UUID(self.id), weeks)
