"""Colleagues: invitations by email, links between two accounts, and ending them.

Resolvers are thin: each calls one function of ``sync.colleague`` (or a read of
``store.colleagues``) and maps the rows. Every query and mutation first replays this user's
steps that did not reach the other side (``sync.colleague_peer.replay``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping
from enum import Enum
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry
from strawberry.types import Info

from model.ids import parse_uuid
from schema.context import Context
from schema.errors import (
    CONFLICT,
    EMAIL_UNVERIFIED,
    NOT_FOUND,
    RATE_LIMITED,
    VALIDATION,
    Conflict,
    EmailUnverified,
    NotFound,
    RateLimited,
    ValidationError,
)
from schema.write import run_call
from store import accounts
from store import colleagues as store
from sync import colleague, colleague_peer

T = TypeVar("T")


@strawberry.enum(description="Whether a colleague link still holds.")
class ColleagueStatus(Enum):
    ACTIVE = "ACTIVE"
    ENDED = "ENDED"


@strawberry.enum(description="Who ended a colleague link.")
class ColleagueEndedBy(Enum):
    YOU = "YOU"
    COLLEAGUE = "COLLEAGUE"
    ACCOUNT_DELETED = "ACCOUNT_DELETED"


@strawberry.enum(description="Where an invitation stands; EXPIRED: not accepted in 30 days.")
class InvitationStatus(Enum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"


@strawberry.enum(description="Sent to you (INCOMING) or by you (OUTGOING).")
class ShareDirection(Enum):
    INCOMING = "IN"
    OUTGOING = "OUT"


@strawberry.type(
    description="Another Rapport user you linked with. The link shares nothing by itself: "
    "only the cards you share and the introductions you ask for or make cross it."
)
class Colleague:
    id: strawberry.ID
    name: str
    email: str
    status: ColleagueStatus
    ended_by: ColleagueEndedBy | None
    since: dt.datetime
    ended_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Colleague:
        gone = row["peer_id"] is None
        ended = gone or row["status"] == "ENDED"
        ended_by = row["ended_by"] or ("ACCOUNT_DELETED" if gone else None)
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["peer_name"],
            email=row["peer_email"],
            status=ColleagueStatus.ENDED if ended else ColleagueStatus.ACTIVE,
            ended_by=ColleagueEndedBy(ended_by) if ended and ended_by else None,
            since=row["linked_at"],
            ended_at=row["ended_at"],
        )


@strawberry.type(
    description="An invitation to link as colleagues. Outgoing: `email` is the address you "
    "invited, and `name` stays null (whether it has an account is not told). Incoming: the "
    "inviter's name and email."
)
class ColleagueInvitation:
    id: strawberry.ID
    direction: ShareDirection
    email: str
    name: str | None
    status: InvitationStatus
    created_at: dt.datetime
    expires_at: dt.datetime

    @classmethod
    def from_row(
        cls, row: Mapping[Any, Any], now: dt.datetime, *, incoming: bool
    ) -> ColleagueInvitation:
        status = row["status"]
        if status == "PENDING" and row["expires_at"] <= now:
            status = "EXPIRED"
        return cls(
            id=strawberry.ID(str(row["id"])),
            direction=ShareDirection.INCOMING if incoming else ShareDirection.OUTGOING,
            email=row["inviter_email"] if incoming else row["email"],
            name=row["inviter_name"] if incoming else None,
            status=InvitationStatus(status),
            created_at=row["created_at"],
            expires_at=row["expires_at"],
        )


@strawberry.type(description="Invitations waiting for you, and the ones you sent.")
class ColleagueInvitations:
    incoming: list[ColleagueInvitation] = strawberry.field(
        description="Pending, unexpired invitations sent to your email address; empty until "
        "that address is verified (`incomingHidden`)."
    )
    incoming_hidden: bool = strawberry.field(
        description="True while your email is not verified: invitations sent to it are not "
        "shown. Prompt the user to confirm it (the link sent at sign-up, or "
        "requestEmailVerification)."
    )
    outgoing: list[ColleagueInvitation]


ColleagueResult = Annotated[
    Colleague | ValidationError | NotFound | Conflict | EmailUnverified,
    strawberry.union("ColleagueResult"),
]
InviteResult = Annotated[
    ColleagueInvitation | ValidationError | Conflict | RateLimited | EmailUnverified,
    strawberry.union("InviteColleagueResult"),
]
InvitationResult = Annotated[
    ColleagueInvitation | ValidationError | NotFound | Conflict | EmailUnverified,
    strawberry.union("ColleagueInvitationResult"),
]


async def answer(
    action: Callable[[], Awaitable[T]],
) -> T | ValidationError | NotFound | Conflict:
    """Run a colleague write and turn its expected failures into their GraphQL types."""
    return await run_call(action, _same, VALIDATION | NOT_FOUND | CONFLICT)


def _same(result: T) -> T:
    return result


# Answering an invitation: it is found by the invitee's email, which must be verified.
INVITEE_FAILURES = VALIDATION | NOT_FOUND | CONFLICT | EMAIL_UNVERIFIED


async def replayed_owner(ctx: Context) -> UUID:
    """Return the signed-in owner after replaying their steps the other side missed."""
    owner_id = await ctx.owner_id()
    await colleague_peer.replay(ctx.engine, ctx.clock, owner_id)
    return owner_id


@strawberry.type
class ColleagueQuery:
    @strawberry.field(description="Your colleague links, active ones first (at most 200).")
    async def colleagues(self, info: Info[Context, None]) -> list[Colleague]:
        ctx = info.context
        owner_id = await replayed_owner(ctx)
        async with ctx.engine.connect() as conn:
            rows = await store.list_links(conn, owner_id=owner_id)
        return [Colleague.from_row(row) for row in rows]

    @strawberry.field(description="Colleague invitations sent to you and by you.")
    async def colleague_invitations(self, info: Info[Context, None]) -> ColleagueInvitations:
        ctx = info.context
        owner_id = await replayed_owner(ctx)
        now = ctx.clock.now()
        async with ctx.engine.connect() as conn:
            me = await accounts.get_user(conn, user_id=owner_id)
            assert me is not None
            # Anyone can sign up with an address: its invitations wait until it is proven.
            hidden = me["email"] is not None and me["email_verified_at"] is None
            incoming = (
                []
                if me["email"] is None or hidden
                else await store.incoming_invitations(
                    conn, email_hash=colleague.email_digest(me["email"]), now=now
                )
            )
            outgoing = await store.outgoing_invitations(conn, owner_id=owner_id)
        return ColleagueInvitations(
            incoming_hidden=hidden,
            incoming=[ColleagueInvitation.from_row(r, now, incoming=True) for r in incoming],
            outgoing=[ColleagueInvitation.from_row(r, now, incoming=False) for r in outgoing],
        )


@strawberry.type
class ColleagueMutation:
    @strawberry.mutation(
        description="Invite someone to link as colleagues by email. The answer is the same "
        "whether the address has an account or not; the invitation waits 30 days, so someone "
        "who signs up with the address within them can still accept once it is verified. At "
        "most 20 a day. Needs your own email verified (EmailUnverified): it is shown as yours."
    )
    async def invite_colleague(self, info: Info[Context, None], email: str) -> InviteResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)
        now = ctx.clock.now()

        async def invite() -> ColleagueInvitation:
            row = await colleague.invite_colleague(ctx.engine, owner_id, email, now)
            return ColleagueInvitation.from_row(row, now, incoming=False)

        return await run_call(
            invite, _same, VALIDATION | CONFLICT | RATE_LIMITED | EMAIL_UNVERIFIED
        )

    @strawberry.mutation(
        description="Accept an invitation sent to your email address; EmailUnverified until "
        "that address is confirmed."
    )
    async def accept_colleague(
        self, info: Info[Context, None], invitation_id: strawberry.ID
    ) -> ColleagueResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def accept() -> Colleague:
            key = parse_uuid("invitationId", invitation_id)
            row = await colleague.accept_colleague(ctx.engine, owner_id, key, ctx.clock.now())
            return Colleague.from_row(row)

        return await run_call(accept, _same, INVITEE_FAILURES)

    @strawberry.mutation(
        description="Decline an invitation sent to your email address; EmailUnverified until "
        "that address is confirmed."
    )
    async def decline_colleague(
        self, info: Info[Context, None], invitation_id: strawberry.ID
    ) -> InvitationResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)
        now = ctx.clock.now()

        async def decline() -> ColleagueInvitation:
            key = parse_uuid("invitationId", invitation_id)
            row = await colleague.decline_colleague(ctx.engine, owner_id, key, now)
            return ColleagueInvitation.from_row(row, now, incoming=True)

        return await run_call(decline, _same, INVITEE_FAILURES)

    @strawberry.mutation(
        description="End a colleague link, for both sides. Pending shared cards and "
        "introduction requests between you end with it; accepted ones stay."
    )
    async def end_colleague(
        self, info: Info[Context, None], colleague_id: strawberry.ID
    ) -> ColleagueResult:
        ctx = info.context
        owner_id = await replayed_owner(ctx)

        async def end() -> Colleague:
            key = parse_uuid("colleagueId", colleague_id)
            row = await colleague.end_colleague(ctx.engine, owner_id, key, ctx.clock.now())
            return Colleague.from_row(row)

        return await answer(end)
