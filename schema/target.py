"""Targets, people you want to meet: the list, and who could introduce you (issue 18).

Reads with ``store.targets``, ranks with ``insights.target``; the target's fields are contact
fields, written by createContact and updateContact (sync/contact.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from insights import target as paths
from model.errors import NotFound as NotFoundError
from model.errors import ValidationFailed
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import NotFound, ValidationError, bad_input, not_found, validation_error
from schema.nodes import Contact
from schema.pagination import check_first
from store import accounts
from store import targets as store

strawberry.enum(
    paths.ReasonKind,
    name="IntroductionReasonKind",
    description="What an introducer shares with a target: COMPANY, EVENT (both on its list), "
    "TAG, INTEREST; RELATIONSHIP says how warm your tie with the introducer is.",
)


@strawberry.type(description="One fact behind an introduction path.")
class IntroductionReason:
    kind: paths.ReasonKind
    fact: str = strawberry.field(description="The fact, as you would recognise it.")


@strawberry.type(description="A contact who could introduce you to a target, and why.")
class IntroductionPath:
    contact: Contact
    score: float = strawberry.field(
        description="Shared facts (company 3, event 2, tag 1.5, interest 1) times 1 + how close "
        "you are (stage CLOSE 1 ... NEW 0.1, +0.2 if you talked in the last 90 days)."
    )
    reasons: list[IntroductionReason]


@strawberry.type(description="Who could introduce you to a target, best first.")
class IntroductionPaths:
    target: Contact
    paths: list[IntroductionPath]


IntroductionPathsResult = Annotated[
    IntroductionPaths | NotFound | ValidationError, strawberry.union("IntroductionPathsResult")
]


def _person(
    row: Mapping[Any, Any],
    facts: store.PathFacts,
    tags: Mapping[UUID, list[str]],
    events: Mapping[UUID, list[UUID]],
    zone: ZoneInfo,
) -> paths.Person[UUID]:
    key: UUID = row["id"]
    return paths.Person(
        key=key,
        name=f"{row['first_name']} {row['last_name']}".strip(),
        company=row["company"],
        interests=tuple(row["interests"]),
        tags=tuple(tags.get(key, [])),
        events=tuple(
            (facts.events[e][0], facts.events[e][1].astimezone(zone).date())
            for e in events.get(key, [])
        ),
        stage=row["stage"],
        last_interaction_at=row["last_interaction_at"],
    )


async def resolve_paths(ctx: Context, target_id: str, first: int) -> IntroductionPathsResult:
    owner_id = await ctx.owner_id()
    try:
        key = parse_uuid("targetId", target_id)
    except ValidationFailed as exc:
        return validation_error(exc)
    async with ctx.engine.connect() as conn:
        target = await store.get_contact(conn, owner_id=owner_id, contact_id=key)
        if target is None:
            return not_found(NotFoundError("contact", key))
        facts = await store.path_facts(conn, owner_id=owner_id, target=target)
        user = await accounts.get_user(conn, user_id=owner_id)
    assert user is not None
    zone = ZoneInfo(user["time_zone"])
    tags: dict[UUID, list[str]] = {}
    for contact_id, tag_id in facts.tagged:
        tags.setdefault(contact_id, []).append(facts.tags[tag_id])
    events: dict[UUID, list[UUID]] = {}
    for contact_id, event_id in facts.attended:
        events.setdefault(contact_id, []).append(event_id)
    rows = {row["id"]: row for row in facts.candidates}
    ranked = paths.rank_paths(
        _person(target, facts, {}, {}, zone),
        [_person(row, facts, tags, events, zone) for row in facts.candidates],
        now=ctx.clock.now(),
        limit=first,
    )
    return IntroductionPaths(
        target=Contact.from_row(target),
        paths=[
            IntroductionPath(
                contact=Contact.from_row(rows[p.key]),
                score=p.score,
                reasons=[IntroductionReason(kind=r.kind, fact=r.fact) for r in p.reasons],
            )
            for p in ranked
        ],
    )


@strawberry.type
class TargetQuery:
    @strawberry.field(
        description="People you want to meet and have not met yet (isTarget, no targetMetAt), "
        "by name; `goalId`: only those linked to that goal."
    )
    async def targets(
        self, info: Info[Context, None], first: int = 50, goal_id: strawberry.ID | None = None
    ) -> list[Contact]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        goal = None if goal_id is None else _goal_id(goal_id)
        async with ctx.engine.connect() as conn:
            rows = await store.list_targets(conn, owner_id=owner_id, goal_id=goal, limit=first)
        return [Contact.from_row(row) for row in rows]

    @strawberry.field(
        description="Who could introduce you to a contact you want to meet: your contacts who "
        "share a company, event, tag or interest with them, best first, with the reasons. "
        "People you have not met yet are never introducers."
    )
    async def introduction_paths(
        self, info: Info[Context, None], target_id: strawberry.ID, first: int = 5
    ) -> IntroductionPathsResult:
        first = check_first(first, info.context.max_page_size)
        return await resolve_paths(info.context, target_id, first)


def _goal_id(value: str) -> UUID:
    try:
        return parse_uuid("goalId", value)
    except ValidationFailed as exc:
        raise bad_input("goalId", exc.errors[0].message) from None
