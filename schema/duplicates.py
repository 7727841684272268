"""Duplicate contacts: candidates with their reasons, dismissing a pair, merging contacts."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import sqlalchemy as sa
import strawberry
from strawberry.types import Info

from insights import duplicate
from model.ids import parse_uuid
from schema.context import Context
from schema.errors import NOT_FOUND, VALIDATION, NotFound, ValidationError, expect
from schema.nodes import Contact
from schema.pagination import Connection, build_connection, check_first, read_after
from schema.write import WRITE_FAILURES, run_call, run_write
from store import duplicates as store
from store import keyset
from sync import dismissal, merge

# Best first: the score (as three digits, so text order is score order), then the pair.
CANDIDATE_KEYS = (
    keyset.SortKey(sa.literal_column("score_key"), "score_key", "text", descending=True),
    keyset.SortKey(sa.literal_column("pair_key"), "pair_key", "text"),
)
CANDIDATES_TAG = "duplicateCandidates"


@strawberry.type(description="Two contacts that are probably one person, and why we think so.")
class DuplicateCandidate:
    contact_a: Contact
    contact_b: Contact
    score: int = strawberry.field(description="0-100: how sure we are they are one person.")
    reasons: list[str] = strawberry.field(
        description='What the two share: "same email ada@example.com", "similar names at '
        'Acme: Ada Lovelace and Ada Lovelace (100/100)"…'
    )


@strawberry.type(description="The pair is left out of `duplicateCandidates` from now on.")
class DuplicateDismissed:
    contact_a: strawberry.ID
    contact_b: strawberry.ID


@strawberry.type(
    description="A contact was merged into another (`survivorId`) before: merge that one."
)
class ContactMerged:
    message: str
    id: strawberry.ID
    survivor_id: strawberry.ID


@strawberry.type(description="A contact is deleted: restore it first, or leave it out.")
class ContactDeleted:
    message: str
    id: strawberry.ID


DismissResult = Annotated[
    DuplicateDismissed | ValidationError | NotFound, strawberry.union("DismissDuplicateResult")
]
# A merged contact is a Conflict too: Failures.find shows it as ContactMerged.
MERGE_FAILURES = (
    WRITE_FAILURES
    | expect(
        merge.ContactMerged,
        lambda exc: ContactMerged(
            message=str(exc),
            id=strawberry.ID(str(exc.contact_id)),
            survivor_id=strawberry.ID(str(exc.survivor_id)),
        ),
    )
    | expect(
        merge.ContactDeleted,
        lambda exc: ContactDeleted(message=str(exc), id=strawberry.ID(str(exc.contact_id))),
    )
)
MergeResult = Annotated[
    Contact | ValidationError | NotFound | ContactMerged | ContactDeleted,
    strawberry.union("MergeContactsResult"),
]


def _candidate_row(candidate: duplicate.Candidate[UUID]) -> dict[str, Any]:
    return {
        "candidate": candidate,
        "score_key": f"{candidate.score:03d}",
        "pair_key": f"{candidate.a}:{candidate.b}",
    }


def _after(row: dict[str, Any], cursor: list[Any]) -> bool:
    """Whether ``row`` comes after the cursor's position: lower score, or same score, later pair."""
    score, pair = cursor
    if row["score_key"] != score:
        return bool(row["score_key"] < score)
    return bool(row["pair_key"] > pair)


async def _candidates(ctx: Context, owner_id: UUID) -> list[dict[str, Any]]:
    async with ctx.engine.connect() as conn:
        rows = await store.identities(conn, owner_id=owner_id)
        dismissed = await store.dismissed_pairs(conn, owner_id=owner_id)
    return [_candidate_row(c) for c in duplicate.find_undismissed(rows, dismissed)]


@strawberry.type
class DuplicateQuery:
    @strawberry.field(
        description="Pairs of your living contacts that are probably one person, best first, "
        "with the reasons; dismissed pairs are left out. Merge them with `mergeContacts`."
    )
    async def duplicate_candidates(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[DuplicateCandidate]:
        ctx = info.context
        owner_id = await ctx.owner_id()
        first = check_first(first, ctx.max_page_size)
        cursor = read_after(CANDIDATES_TAG, CANDIDATE_KEYS, after)
        found = await _candidates(ctx, owner_id)
        rows = found if cursor is None else [row for row in found if _after(row, cursor)]
        page = rows[: first + 1]
        loaded = await (await ctx.loaders()).contact.load_many(
            [key for row in page[:first] for key in (row["candidate"].a, row["candidate"].b)]
        )
        contacts = {row["id"]: row for row in loaded if row is not None}

        def to_node(row: dict[str, Any]) -> DuplicateCandidate:
            c: duplicate.Candidate[UUID] = row["candidate"]
            return DuplicateCandidate(
                contact_a=Contact.from_row(contacts[c.a]),
                contact_b=Contact.from_row(contacts[c.b]),
                score=c.score,
                reasons=list(c.reasons),
            )

        async def count() -> int:
            return len(found)

        return build_connection(
            page, first, CANDIDATES_TAG, CANDIDATE_KEYS, to_node, count, after=after is not None
        )


@strawberry.type
class DuplicateMutation:
    @strawberry.mutation(
        description="Say two contacts are different people: `duplicateCandidates` leaves the "
        "pair out from now on."
    )
    async def dismiss_duplicate(
        self, info: Info[Context, None], contact_a: strawberry.ID, contact_b: strawberry.ID
    ) -> DismissResult:
        ctx = info.context
        owner_id = await ctx.owner_id()
        return await run_call(
            lambda: dismissal.dismiss_duplicate(
                ctx.engine,
                owner_id,
                ctx.clock,
                parse_uuid("contactA", contact_a),
                parse_uuid("contactB", contact_b),
            ),
            lambda _: DuplicateDismissed(contact_a=contact_a, contact_b=contact_b),
            VALIDATION | NOT_FOUND,
        )

    @strawberry.mutation(
        description="Merge contacts into one (`keepId`): lists united, empty fields filled, "
        "notes joined; interactions, tags, reminders, event attendance and introductions "
        "move to it; the others become deleted contacts that name it (`mergedInto` in "
        "syncPull). At most 20 `mergeIds`."
    )
    async def merge_contacts(
        self,
        info: Info[Context, None],
        keep_id: strawberry.ID,
        merge_ids: list[strawberry.ID],
    ) -> MergeResult:
        return await run_write(
            info.context,
            lambda w: merge.merge_contacts(
                w, parse_uuid("keepId", keep_id), [parse_uuid("mergeIds", m) for m in merge_ids]
            ),
            Contact.from_row,
            failures=MERGE_FAILURES,
        )
