"""Insight operations: whom to reconnect with, whom to introduce, what to talk about.

Resolvers read with ``store.insights``, score with ``insights``, and map the result to types;
every suggestion carries the reasons that produced it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Annotated, Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from insights import health, introduction, reconnect, starter
from model import errors
from model.clock import local_today
from model.errors import ValidationFailed
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import NotFound, ValidationError, not_found, validation_error
from schema.mutation import InteractionResult
from schema.nodes import Contact, Interaction
from schema.pagination import check_first
from schema.scores import RelationshipHealth
from schema.write import run_write
from store import accounts
from store import insights as insight_store
from store import interactions as interaction_store
from store.replica import reading
from sync import introduction as introduction_writes
from sync.entity import new_id

MAX_STARTERS = 20
# Starters read this many of the contact's newest interactions.
STARTER_HISTORY = 10

strawberry.enum(starter.Source, name="StarterSource", description="The fact a starter came from.")


@strawberry.type(description="Someone worth reaching out to now, and why.")
class ReconnectSuggestion:
    contact: Contact
    priority: float = strawberry.field(
        description="Higher first: importance times overdue, plus decline."
    )
    overdue_days: int
    health: RelationshipHealth
    reasons: list[str]

    @classmethod
    def from_ranked(
        cls,
        ranked: Sequence[reconnect.Suggestion[UUID]],
        candidates: Sequence[reconnect.Candidate[UUID]],
        contacts: Sequence[Mapping[Any, Any] | None],
    ) -> list[ReconnectSuggestion]:
        """The ranked suggestions whose contact still loads, in rank order."""
        by_key = {c.key: c for c in candidates}
        return [
            cls(
                contact=Contact.from_row(row),
                priority=s.priority,
                overdue_days=int(by_key[s.key].overdue_days),
                health=RelationshipHealth.from_health(by_key[s.key].health),
                reasons=list(s.reasons),
            )
            for s, row in zip(ranked, contacts, strict=True)
            if row is not None
        ]


@strawberry.type(description="Two of your contacts who would gain from meeting, and why.")
class IntroductionSuggestion:
    contact_a: Contact
    contact_b: Contact
    score: float
    reasons: list[str]

    @classmethod
    def from_pairs(
        cls,
        pairs: Sequence[introduction.Pair[UUID]],
        loaded: Sequence[Mapping[Any, Any] | None],
    ) -> list[IntroductionSuggestion]:
        """The pairs whose two contacts still load; ``loaded`` holds each pair's a and b."""
        found = []
        for n, pair in enumerate(pairs):
            a, b = loaded[2 * n], loaded[2 * n + 1]
            if a is not None and b is not None:
                found.append(
                    cls(
                        contact_a=Contact.from_row(a),
                        contact_b=Contact.from_row(b),
                        score=pair.score,
                        reasons=list(pair.reasons),
                    )
                )
        return found


@strawberry.type(description="An opener built from one fact, which it names.")
class ConversationStarter:
    text: str
    source: starter.Source
    fact: str = strawberry.field(description="The fact it came from, as you would recognise it.")

    @classmethod
    def from_starter(cls, built: starter.Starter) -> ConversationStarter:
        return cls(text=built.text, source=built.source, fact=built.fact)


@strawberry.type
class ConversationStarters:
    contact: Contact
    starters: list[ConversationStarter]


StartersResult = Annotated[
    ConversationStarters | NotFound | ValidationError,
    strawberry.union("ConversationStartersResult"),
]


async def owner_today(ctx: Context, owner_id: UUID) -> dt.date:
    """Return today's date in the owner's time zone."""
    async with ctx.engine.connect() as conn:
        user = await accounts.get_user(conn, user_id=owner_id)
    assert user is not None
    return local_today(ctx.clock.now(), user["time_zone"])


@strawberry.type
class InsightQuery:
    @strawberry.field(description="Contacts worth reaching out to now, most urgent first.")
    async def reconnect_suggestions(
        self, info: Info[Context, None], first: int = 10
    ) -> list[ReconnectSuggestion]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        now = ctx.clock.now()
        today = await owner_today(ctx, owner_id)
        async with reading(ctx.engine, owner_id) as conn:
            # Health decline can lift a candidate a few places: read a margin beyond `first`.
            rows = await insight_store.reconnect_candidates(
                conn,
                owner_id=owner_id,
                now=now,
                today=today,
                default_cadence=health.DEFAULT_CADENCE,
                importance_weight=reconnect.IMPORTANCE_WEIGHT,
                max_ratio=reconnect.MAX_OVERDUE_RATIO,
                limit=first + 20,
            )
            history = await insight_store.health_interactions(
                conn, owner_id=owner_id, contact_ids=[r["id"] for r in rows]
            )
        candidates = reconnect.build_candidates(rows, history, now)
        ranked = reconnect.rank_reconnects(candidates, first)
        contacts = await (await ctx.loaders()).contact.load_many([s.key for s in ranked])
        return ReconnectSuggestion.from_ranked(ranked, candidates, contacts)

    @strawberry.field(description="Pairs of your contacts worth introducing, best first.")
    async def introduction_suggestions(
        self, info: Info[Context, None], first: int = 10
    ) -> list[IntroductionSuggestion]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        async with reading(ctx.engine, owner_id) as conn:
            index = await ctx.introductions.get(conn, owner_id)
            goals = await insight_store.goal_tags(conn, owner_id=owner_id)
            candidates = introduction.suggest_from_index(
                index, first, goal_tags=goals, candidates=first * 5 + 20
            )
            # Which of the best pairs met already is one query over those pairs only.
            met = await insight_store.pairs_already_met(
                conn, owner_id=owner_id, pairs=[(p.a, p.b) for p in candidates]
            )
        chosen = introduction.not_met(candidates, met, first)
        # One batch for every contact of every pair.
        loaded = await (await ctx.loaders()).contact.load_many(
            [key for pair in chosen for key in (pair.a, pair.b)]
        )
        return IntroductionSuggestion.from_pairs(chosen, loaded)

    @strawberry.field(description="Openers for a conversation with a contact, from facts.")
    async def conversation_starters(
        self, info: Info[Context, None], contact_id: strawberry.ID, first: int = 5
    ) -> StartersResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, MAX_STARTERS)
        try:
            key = parse_uuid("contactId", contact_id)
        except ValidationFailed as exc:
            return validation_error(exc)
        row = await (await ctx.loaders()).contact.load(key)
        if row is None:
            return not_found(errors.NotFound("contact", contact_id))
        today = await owner_today(ctx, owner_id)
        async with reading(ctx.engine, owner_id) as conn:
            latest = await interaction_store.latest_for_contacts(
                conn, owner_id=owner_id, contact_ids=[key], limit=STARTER_HISTORY
            )
        facts = starter.facts_from_rows(row, latest.get(key, []))
        built = starter.build_starters(facts, now=ctx.clock.now(), today=today, first=first)
        return ConversationStarters(
            contact=Contact.from_row(row),
            starters=[ConversationStarter.from_starter(s) for s in built],
        )


@strawberry.type
class InsightMutation:
    @strawberry.mutation(
        description="Record that you introduced two contacts: an interaction with both, "
        "counted as something you gave."
    )
    async def log_introduction(
        self,
        info: Info[Context, None],
        contact_a: strawberry.ID,
        contact_b: strawberry.ID,
        note: str | None = None,
    ) -> InteractionResult:
        return await run_write(
            info.context,
            lambda w: introduction_writes.log_introduction(
                w,
                new_id(),
                parse_uuid("contactA", contact_a),
                parse_uuid("contactB", contact_b),
                note,
            ),
            Interaction.from_row,
        )
