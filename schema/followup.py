"""Follow-ups: a draft message after a meeting, and the first meetings still owed one.

Reads with ``store.followup``, writes the draft with ``insights.followup``; every sentence of a
draft carries the fact it came from. Nothing is written: the user edits and sends the draft.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from insights import followup, starter
from model.clock import local_today
from model.errors import FieldError, ValidationFailed
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import Deleted, NotFound, ValidationError, bad_input, validation_error
from schema.nodes import Contact, Interaction
from schema.pagination import check_first
from store import accounts
from store import followup as store

strawberry.enum(
    followup.Tone,
    name="FollowUpTone",
    description="How a follow-up draft sounds: WARM (friendly, the default), BRIEF (a few "
    "short lines, no interests) or FORMAL (full names, no exclamations).",
)
strawberry.enum(
    followup.SourceKind,
    name="FollowUpSourceKind",
    description="The kind of fact a sentence of a follow-up draft came from.",
)


@strawberry.type(description="The fact a sentence came from.")
class FollowUpSource:
    kind: followup.SourceKind
    fact: str = strawberry.field(description="The fact, as you would recognise it.")


@strawberry.type(description="One sentence of a draft and the fact it came from.")
class FollowUpSentence:
    text: str
    source: FollowUpSource


@strawberry.type(description="A message to edit and send yourself after a meeting.")
class FollowUpDraft:
    interaction: Interaction
    contacts: list[Contact] = strawberry.field(description="Whom it is addressed to.")
    tone: followup.Tone
    text: str = strawberry.field(description="The whole message: greeting, body, sign-off.")
    sentences: list[FollowUpSentence]


FollowUpDraftResult = Annotated[
    FollowUpDraft | NotFound | Deleted | ValidationError,
    strawberry.union("FollowUpDraftResult"),
]


@strawberry.type(description="A first meeting with nothing logged since: follow up.")
class FollowUpOwed:
    contact: Contact
    interaction: Interaction = strawberry.field(
        description="The meeting; ask followUpDraft(interactionId) for a draft."
    )
    days_since: int
    reason: str


def _refuse(message: str) -> ValidationError:
    return validation_error(ValidationFailed([FieldError("interactionId", message)]))


def _recipient(row: Mapping[Any, Any]) -> followup.Recipient:
    return followup.Recipient(
        first_name=row["first_name"],
        last_name=row["last_name"],
        interests=tuple(row["interests"]),
        importance=row["importance"],
        cadence_days=row["cadence_days"],
    )


async def draft_for(
    ctx: Context, owner_id: UUID, interaction_id: str, tone: followup.Tone
) -> FollowUpDraftResult:
    """Return the draft of one of the owner's interactions, or why there is none."""
    try:
        key = parse_uuid("interactionId", interaction_id)
    except ValidationFailed as exc:
        return validation_error(exc)
    async with ctx.engine.connect() as conn:
        user = await accounts.get_user(conn, user_id=owner_id)
        row = await store.find_interaction(conn, owner_id=owner_id, interaction_id=key)
        if row is None:
            return NotFound(
                message=f"No interaction with id {interaction_id} exists for this account.",
                entity="interaction",
                id=strawberry.ID(interaction_id),
            )
        if row["cl"] % 2 == 0:
            return Deleted(id=strawberry.ID(interaction_id), entity="interaction")
        assert user is not None
        zone = ZoneInfo(user["time_zone"])
        today = local_today(ctx.clock.now(), user["time_zone"])
        occurred_on = row["occurred_at"].astimezone(zone).date()
        problem = followup.find_problem(row["kind"], occurred_on, today)
        if problem is not None:
            return _refuse(problem)
        sources = await store.draft_sources(conn, owner_id=owner_id, interaction=row)
    if not sources.recipients:
        return _refuse("every contact of this interaction is deleted; restore one to write to")
    facts = followup.DraftFacts(
        kind=row["kind"],
        occurred_on=occurred_on,
        summary=row["summary"],
        body=row["body"],
        recipients=tuple(_recipient(r) for r in sources.recipients),
        sender=user["display_name"],
        later=tuple(
            starter.Note(r["occurred_at"], r["kind"], r["summary"], r["body"], r["given"])
            for r in sources.later
        ),
    )
    draft = followup.draft_follow_up(facts, tone=tone, today=today)
    return FollowUpDraft(
        interaction=Interaction.from_row(row),
        contacts=[Contact.from_row(r) for r in sources.recipients],
        tone=tone,
        text=draft.text,
        sentences=[
            FollowUpSentence(text=s.text, source=FollowUpSource(kind=s.kind, fact=s.fact))
            for s in draft.sentences
        ],
    )


async def owed_for(ctx: Context, owner_id: UUID, first: int, after_days: int) -> list[FollowUpOwed]:
    """Return the owner's first meetings with nothing logged ``after_days`` later."""
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        user = await accounts.get_user(conn, user_id=owner_id)
        assert user is not None
        zone = ZoneInfo(user["time_zone"])
        meetings = await store.follow_ups_owed(
            conn,
            owner_id=owner_id,
            met_after=now - timedelta(days=followup.OWED_WINDOW_DAYS),
            met_before=now - timedelta(days=after_days),
            today=local_today(now, user["time_zone"]),
            kinds=followup.CONVERSATION_KINDS,
            limit=first,
        )
    people = await (await ctx.loaders()).contact.load_many([m["contact_id"] for m in meetings])
    found = []
    for meeting, person in zip(meetings, people, strict=True):
        if person is None:
            continue
        days = (now - meeting["occurred_at"]).days
        on = meeting["occurred_at"].astimezone(zone).date()
        found.append(
            FollowUpOwed(
                contact=Contact.from_row(person),
                interaction=Interaction.from_row(meeting),
                days_since=days,
                reason=followup.explain_owed(meeting["kind"], on, days),
            )
        )
    return found


@strawberry.type
class FollowUpQuery:
    @strawberry.field(
        description="A follow-up message for a meeting, call, video call, meal or event, "
        "built from your notes; each sentence names the fact it came from."
    )
    async def follow_up_draft(
        self,
        info: Info[Context, None],
        interaction_id: strawberry.ID,
        tone: followup.Tone = followup.Tone.WARM,
    ) -> FollowUpDraftResult:
        owner_id = await info.context.owner_id()
        return await draft_for(info.context, owner_id, interaction_id, tone)

    @strawberry.field(
        description="Contacts whose first interaction (a meeting, call, video call, meal or "
        "event) is at least `afterDays` (0-29, default 3) and under 30 days old, with nothing "
        "logged since; longest waiting first."
    )
    async def follow_ups_owed(
        self,
        info: Info[Context, None],
        first: int = 10,
        after_days: int = followup.DEFAULT_AFTER_DAYS,
    ) -> list[FollowUpOwed]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        if not 0 <= after_days < followup.OWED_WINDOW_DAYS:
            limit = followup.OWED_WINDOW_DAYS - 1
            raise bad_input("afterDays", f"use 0 to {limit} days, not {after_days}")
        return await owed_for(ctx, owner_id, first, after_days)


__all__ = ["FollowUpQuery"]
