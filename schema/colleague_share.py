"""What crosses a colleague link: shared contact cards and warm introduction requests.

Resolvers call one function of ``sync.colleague_card`` or ``sync.colleague_intro`` and read the
item back from ``store.colleagues``. Each side sees only its own rows: a card's copy, a
request's words, never the other account's contacts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import Enum
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry
from strawberry.types import Info

from model.ids import parse_uuid
from schema.colleague import ShareDirection, answer, replayed_owner
from schema.context import Context
from schema.errors import (
    CONFLICT,
    NOT_FOUND,
    RATE_LIMITED,
    VALIDATION,
    Conflict,
    NotFound,
    RateLimited,
    ValidationError,
)
from schema.nodes import LabeledValue
from schema.write import run_call
from store import colleagues as store
from store import tables
from sync import colleague_card, colleague_intro


@strawberry.enum(description="Where a shared card stands.")
class SharedCardStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DISMISSED = "DISMISSED"
    ENDED = "ENDED"


@strawberry.enum(description="Where an introduction request stands.")
class IntroductionStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    ENDED = "ENDED"


@strawberry.enum(description="A field of a contact a shared card may carry (the name always does).")
class CardField(Enum):
    COMPANY = "company"
    TITLE = "title"
    EMAILS = "emails"
    PHONES = "phones"
    URLS = "urls"


def _id(value: object) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


def _status(row: Mapping[Any, Any]) -> str:
    # A pending item of a link that ended (or whose other account is gone) is closed.
    ended = row["link_status"] == "ENDED" or row["colleague_user_id"] is None
    return "ENDED" if row["status"] == "PENDING" and ended else str(row["status"])


def _labeled(values: list[dict[str, str]] | None) -> list[LabeledValue]:
    return [LabeledValue(label=v.get("label", ""), value=v["value"]) for v in values or []]


@strawberry.type(
    description="A copy of a contact card shared between colleagues: the fields chosen when it "
    "was shared, never notes or interactions. Accept an incoming one to add it to your contacts."
)
class SharedCard:
    id: strawberry.ID
    direction: ShareDirection
    colleague_id: strawberry.ID
    colleague_name: str
    note: str | None
    status: SharedCardStatus
    first_name: str
    last_name: str
    company: str | None
    title: str | None
    emails: list[LabeledValue]
    phones: list[LabeledValue]
    urls: list[LabeledValue]
    contact_id: strawberry.ID | None = strawberry.field(
        description="Outgoing: your contact that was shared. Incoming: the contact it became."
    )
    introduction_id: strawberry.ID | None = strawberry.field(
        description="The introduction request this card was shared with, if any."
    )
    created_at: dt.datetime
    responded_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> SharedCard:
        card = row["card"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            direction=ShareDirection(row["direction"]),
            colleague_id=strawberry.ID(str(row["link_id"])),
            colleague_name=row["colleague_name"],
            note=row["note"],
            status=SharedCardStatus(_status(row)),
            first_name=card.get("firstName", ""),
            last_name=card.get("lastName", ""),
            company=card.get("company"),
            title=card.get("title"),
            emails=_labeled(card.get("emails")),
            phones=_labeled(card.get("phones")),
            urls=_labeled(card.get("urls")),
            contact_id=_id(row["contact_id"]),
            introduction_id=_id(row["introduction_id"]),
            created_at=row["created_at"],
            responded_at=row["responded_at"],
        )


@strawberry.type(
    description="A request for a warm introduction. The asker names whom they want to meet in "
    "their own words; the colleague chooses which of their contacts, if any, and whether to "
    "share that contact's card."
)
class IntroductionRequest:
    id: strawberry.ID
    direction: ShareDirection
    colleague_id: strawberry.ID
    colleague_name: str
    whom: str
    note: str | None
    status: IntroductionStatus
    response: str | None = strawberry.field(description="The introducer's note with the answer.")
    contact_id: strawberry.ID | None = strawberry.field(
        description="Outgoing: your contact the request is about, if you named one. "
        "Incoming: the contact you introduced."
    )
    shared_card_id: strawberry.ID | None
    interaction_id: strawberry.ID | None = strawberry.field(
        description="The INTRODUCTION interaction logged on your side, once there is one."
    )
    created_at: dt.datetime
    responded_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> IntroductionRequest:
        return cls(
            id=strawberry.ID(str(row["id"])),
            direction=ShareDirection(row["direction"]),
            colleague_id=strawberry.ID(str(row["link_id"])),
            colleague_name=row["colleague_name"],
            whom=row["whom"],
            note=row["note"],
            status=IntroductionStatus(_status(row)),
            response=row["response"],
            contact_id=_id(row["contact_id"]),
            shared_card_id=_id(row["shared_card_id"]),
            interaction_id=_id(row["interaction_id"]),
            created_at=row["created_at"],
            responded_at=row["responded_at"],
        )


# RateLimited: only shareContact and requestIntroduction, limited per sender (docs/api.md).
SharedCardResult = Annotated[
    SharedCard | ValidationError | NotFound | Conflict | RateLimited,
    strawberry.union("SharedCardResult"),
]
IntroductionResult = Annotated[
    IntroductionRequest | ValidationError | NotFound | Conflict | RateLimited,
    strawberry.union("IntroductionRequestResult"),
]
SENDER_FAILURES = VALIDATION | NOT_FOUND | CONFLICT | RATE_LIMITED


T = TypeVar("T")


def _same(result: T) -> T:
    return result


async def _card(ctx: Context, owner_id: UUID, card_id: UUID) -> SharedCard:
    async with ctx.engine.connect() as conn:
        row = await store.get_item(
            conn, table=tables.shared_cards, owner_id=owner_id, item_id=card_id
        )
    assert row is not None
    return SharedCard.from_row(row)


async def _request(ctx: Context, owner_id: UUID, request_id: UUID) -> IntroductionRequest:
    async with ctx.engine.connect() as conn:
        row = await store.get_item(
            conn, table=tables.introduction_requests, owner_id=owner_id, item_id=request_id
        )
    assert row is not None
    return IntroductionRequest.from_row(row)


@strawberry.type
class ColleagueShareQuery:
    @strawberry.field(description="Cards shared with you (INCOMING) or by you, latest first.")
    async def shared_cards(
        self, info: Info[Context, None], direction: ShareDirection = ShareDirection.INCOMING
    ) -> list[SharedCard]:
        ctx = info.context
        owner_id = await replayed_owner(ctx)
        async with ctx.engine.connect() as conn:
            rows = await store.list_items(
                conn, table=tables.shared_cards, owner_id=owner_id, direction=direction.value
            )
        return [SharedCard.from_row(row) for row in rows]

    @strawberry.field(
        description="Introduction requests sent to you (INCOMING) or by you, latest first."
    )
    async def introduction_requests(
        self, info: Info[Context, None], direction: ShareDirection = ShareDirection.INCOMING
    ) -> list[IntroductionRequest]:
        ctx = info.context
        owner_id = await replayed_owner(ctx)
        async with ctx.engine.connect() as conn:
            rows = await store.list_items(
                conn,
                table=tables.introduction_requests,
                owner_id=owner_id,
                direction=direction.value,
            )
        return [IntroductionRequest.from_row(row) for row in rows]


@strawberry.type
class ColleagueShareMutation:
    @strawberry.mutation(
        description="Share a copy of one of your contacts with a colleague: the name and the "
        "`fields` you choose (all of company, title, emails, phones, urls by default), never "
        "notes or interactions. Later edits of the contact are not shared. At most 50 a day "
        "(RateLimited)."
    )
    async def share_contact(
        self,
        info: Info[Context, None],
        colleague_id: strawberry.ID,
        contact_id: strawberry.ID,
        note: str | None = None,
        fields: list[CardField] | None = None,
    ) -> SharedCardResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def share() -> SharedCard:
            chosen = list(CardField) if fields is None else fields
            card_id = await colleague_card.share_contact(
                ctx.engine,
                owner_id,
                link_id=parse_uuid("colleagueId", colleague_id),
                contact_id=parse_uuid("contactId", contact_id),
                note=colleague_intro.checked_note(note),
                fields=[f.value for f in chosen],
                now=ctx.clock.now(),
            )
            return await _card(ctx, owner_id, card_id)

        return await run_call(share, _same, SENDER_FAILURES)

    @strawberry.mutation(
        description="Add a card shared with you to your contacts, with who shared it and when "
        "in `howWeMet`."
    )
    async def accept_shared_card(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> SharedCardResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def accept() -> SharedCard:
            card_id = await colleague_card.accept_shared_card(
                ctx.engine, ctx.clock, owner_id, parse_uuid("id", id)
            )
            return await _card(ctx, owner_id, card_id)

        return await answer(accept)

    @strawberry.mutation(description="Dismiss a card shared with you; nothing is added.")
    async def dismiss_shared_card(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> SharedCardResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def dismiss() -> SharedCard:
            card_id = await colleague_card.dismiss_shared_card(
                ctx.engine, ctx.clock, owner_id, parse_uuid("id", id)
            )
            return await _card(ctx, owner_id, card_id)

        return await answer(dismiss)

    @strawberry.mutation(
        description="Ask a colleague for a warm introduction. You cannot see their contacts: "
        "say whom you want to meet in `whom` (a name, a company, a role), why in `note`, and "
        "optionally which of your own contacts it is about (`contactId`, e.g. someone you "
        "want to meet), so the introduction is logged with them. At most 20 a day (RateLimited)."
    )
    async def request_introduction(
        self,
        info: Info[Context, None],
        colleague_id: strawberry.ID,
        whom: str,
        note: str | None = None,
        contact_id: strawberry.ID | None = None,
    ) -> IntroductionResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def ask() -> IntroductionRequest:
            request_id = await colleague_intro.request_introduction(
                ctx.engine,
                ctx.clock,
                owner_id,
                link_id=parse_uuid("colleagueId", colleague_id),
                whom=whom,
                note=note,
                contact_id=None if contact_id is None else parse_uuid("contactId", contact_id),
            )
            return await _request(ctx, owner_id, request_id)

        return await run_call(ask, _same, SENDER_FAILURES)

    @strawberry.mutation(
        description="Accept an introduction request: pick which of your contacts you introduce "
        "(logged as an INTRODUCTION you gave), and whether to share their card with the asker "
        "(`shareCard`); without it, none of the contact's data crosses."
    )
    async def accept_introduction(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        contact_id: strawberry.ID,
        share_card: bool = False,
        note: str | None = None,
    ) -> IntroductionResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def accept() -> IntroductionRequest:
            request_id = await colleague_intro.accept_introduction(
                ctx.engine,
                ctx.clock,
                owner_id,
                request_id=parse_uuid("id", id),
                contact_id=parse_uuid("contactId", contact_id),
                share_card=share_card,
                note=note,
            )
            return await _request(ctx, owner_id, request_id)

        return await answer(accept)

    @strawberry.mutation(description="Decline an introduction request, with a note if you like.")
    async def decline_introduction(
        self, info: Info[Context, None], id: strawberry.ID, note: str | None = None
    ) -> IntroductionResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def decline() -> IntroductionRequest:
            request_id = await colleague_intro.decline_introduction(
                ctx.engine, ctx.clock, owner_id, request_id=parse_uuid("id", id), note=note
            )
            return await _request(ctx, owner_id, request_id)

        return await answer(decline)
