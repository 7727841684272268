"""The follow-up offer: shown on an interaction, accepted as reminders (issue 18).

``Interaction.followUpOffer`` is read whenever the interaction is, so the answer of
``logInteraction`` carries it; ``acceptFollowUpOffer`` creates the reminders through the
reminder rule (sync/offer.py, sync/reminder.py), and the planner pushes them like any other.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from insights import offer
from insights.followup import DEFAULT_AFTER_DAYS, OWED_WINDOW_DAYS
from model.clock import local_today
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import Conflict, NotFound, ValidationError, bad_input
from schema.nodes import Contact
from schema.reminders import Reminder
from schema.write import run_write
from store import accounts
from store import offer as store
from sync import offer as offer_writes


@strawberry.type(
    description="A reminder to follow up, offered after a first meeting, call, video call, "
    "meal or event with someone (nothing else logged with them, no reminder about them yet). "
    "acceptFollowUpOffer creates it."
)
class FollowUpOffer:
    due_on: dt.date = strawberry.field(
        description="The day the reminder would be due: afterDays after the interaction, or "
        "today if that has passed."
    )
    reason: str
    contacts: list[Contact] = strawberry.field(
        description="The new people a reminder would be made for, one each."
    )


async def resolve_offer(
    ctx: Context, interaction_id: UUID, kind: str, occurred_at: dt.datetime, after_days: int
) -> FollowUpOffer | None:
    """Return the offer standing for one of the owner's interactions, or None."""
    if not 0 <= after_days < OWED_WINDOW_DAYS:
        raise bad_input("afterDays", f"use 0 to {OWED_WINDOW_DAYS - 1} days, not {after_days}")
    owner_id = await ctx.owner_id()
    async with ctx.engine.connect() as conn:
        people = await store.new_people(conn, owner_id=owner_id, interaction_id=interaction_id)
        if not people:
            return None
        user = await accounts.get_user(conn, user_id=owner_id)
    assert user is not None
    today = local_today(ctx.clock.now(), user["time_zone"])
    found = offer.offer_follow_up(
        kind,
        occurred_at.astimezone(ZoneInfo(user["time_zone"])).date(),
        today,
        [f"{p['first_name']} {p['last_name']}".strip() for p in people],
        after_days=after_days,
    )
    if found is None:
        return None
    return FollowUpOffer(
        due_on=found.due_on, reason=found.reason, contacts=[Contact.from_row(p) for p in people]
    )


@strawberry.type(description="The reminders an accepted follow-up offer created.")
class FollowUpOfferAccepted:
    reminders: list[Reminder]


AcceptFollowUpOfferResult = Annotated[
    FollowUpOfferAccepted | ValidationError | NotFound | Conflict,
    strawberry.union("AcceptFollowUpOfferResult"),
]


@strawberry.type
class OfferMutation:
    @strawberry.mutation(
        description="Accept an interaction's followUpOffer: a reminder to follow up with each "
        "new person, due on `dueOn` (today or later; default the offer's day). Conflict when "
        "no offer stands (accepted already, or something else was logged since)."
    )
    async def accept_follow_up_offer(
        self,
        info: Info[Context, None],
        interaction_id: strawberry.ID,
        due_on: dt.date | None = None,
    ) -> AcceptFollowUpOfferResult:
        return await run_write(
            info.context,
            lambda w: offer_writes.accept_offer(
                w, parse_uuid("interactionId", interaction_id), due_on
            ),
            lambda rows: FollowUpOfferAccepted(
                reminders=[Reminder.from_row(row, today) for row, today in rows]
            ),
            conflict=True,
        )


__all__ = ["DEFAULT_AFTER_DAYS", "FollowUpOffer", "OfferMutation", "resolve_offer"]
