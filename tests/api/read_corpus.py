"""The differential corpus: named read operations with their variables (issue 13).

Each operation is sent to an app with the compiled read path and to one without it, on one
seeded database (``tests/api/test_compiled_reads.py``), and the two response bodies must be
the same bytes, errors included. ``compiles`` says which path the compiled app must have
answered with, so an operation that silently falls back is caught, and one that starts to
compile is noticed (flip it, and say so in the commit).

Sources: the README session and the playground tab, the e2e suite's Apollo documents, the API
suites' queries, the bench queries; then every filter, every order, both paging directions,
unicode, nulls, deleted rows, empty pages, another user's ids, bad cursors and unknown ids.
Variables are functions of the seeded ``World``: ids and cursors exist only once it is seeded.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bench.home_answer import HOME_QUERY
from bench.insight_reads import INTRODUCTIONS, RECONNECT, STARTERS
from bench.sync_client import PULL

ROOT = Path(__file__).resolve().parents[2]
ORDERS = ["NAME", "NEXT_FOLLOW_UP", "LAST_INTERACTION", "CREATED"]


@dataclass
class World:
    """What the seed made: two users, Alice's rows (some deleted), Bob's, and cursors."""

    alice: Any
    bob: Any
    tags: list[str]
    contacts: list[str]
    deleted: str
    bob_contact: str
    interactions: list[str]
    deleted_interaction: str
    bob_interaction: str
    # Every forward cursor of a listing, as the resolvers made them: "contacts:NAME",
    # "bob:contacts:NAME", "interactions", "interactions:<n>" (Alice's n-th contact).
    cursors: dict[str, list[str]] = field(default_factory=dict)


Variables = Callable[[World], dict[str, Any]]
User = Literal["alice", "bob", "nobody", "forged"]


def _no_variables(world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Operation:
    name: str
    query: str
    variables: Variables = _no_variables
    # Whether the compiled app answers it with one statement (else its resolvers do).
    compiles: bool = True
    user: User = "alice"
    operation_name: str | None = None


CONTACT = """
fragment Person on Contact {
  id firstName lastName displayName company title
  emails { label value } phones { label value } urls { __typename label value }
  birthday { month day year } workStartedOn howWeMet interests preferredChannel
  communicationNotes cadenceDays snoozedUntil stage importance notes leadDays
  lastInteractionAt nextFollowUpAt createdAt updatedAt tags { id name color }
  isTarget targetReason targetGoalId researchNotes targetMetAt
}
"""

PAGE = (
    CONTACT
    + """
query Page($first: Int!, $after: String, $order: ContactOrder!, $filter: ContactFilter) {
  contacts(first: $first, after: $after, orderBy: $order, filter: $filter) {
    __typename
    totalCount
    pageInfo { hasNextPage endCursor __typename }
    edges { cursor node { ...Person interactions(first: 2) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id kind occurredAt summary body given received createdAt updatedAt } }
    } } }
  }
}
"""
)

BOTH_WAYS = (
    CONTACT
    + """
query Both($first: Int, $after: String, $last: Int, $before: String, $order: ContactOrder!,
           $filter: ContactFilter) {
  contacts(first: $first, after: $after, last: $last, before: $before, orderBy: $order,
           filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { ...Person interactions(first: 1) {
      pageInfo { hasPreviousPage startCursor hasNextPage endCursor } nodes { id }
    } } }
  }
}
"""
)

FOLLOW_UP_DRAFT = """
query($i: ID!, $tone: FollowUpTone) {
  followUpDraft(interactionId: $i, tone: $tone) {
    __typename
    ... on FollowUpDraft { contacts { id } tone text sentences { text source { kind fact } } }
    ... on NotFound { entity id }
    ... on Deleted { entity id }
  }
}
"""

ME = """
query { me { __typename id email displayName timeZone reminderHour quietHoursStart quietHoursEnd
  dailyDigest sentimentEnabled leadDays { birthday anniversary followUp reminder } createdAt } }
"""

LOOKUP = (
    CONTACT
    + """
query($id: ID!) {
  contact(id: $id) {
    __typename
    ... on Contact { ...Person introducedBy { id displayName introducedBy { id } } }
    ... on NotFound { message entity id __typename }
    ... on ValidationError { message }
  }
}
"""
)
INTERACTION = """
query($id: ID!) {
  interaction(id: $id) {
    __typename
    ... on Interaction { id kind summary contacts { id displayName tags { name } } }
    ... on NotFound { entity id message }
  }
}
"""
INTERACTIONS = """
query($c: ID, $first: Int!, $after: String) {
  interactions(contactId: $c, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id occurredAt summary contacts { id } } }
  }
}
"""
# A contact's interactions past a cursor (a contact screen scrolled down).
CONTACT_INTERACTIONS = """
query($id: ID!, $first: Int!, $after: String) {
  contact(id: $id) {
    ... on Contact {
      id
      interactions(first: $first, after: $after) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { cursor node { id kind occurredAt summary body } }
      }
    }
  }
}
"""

# The e2e suite's Apollo documents (tests/e2e/apollo.test.mjs).
E2E_ME = "query Me { me { id email displayName } }"
E2E_CONTACT = """
  query Contact($id: ID!) {
    contact(id: $id) {
      __typename
      ... on Contact {
        id displayName company cadenceDays lastInteractionAt nextFollowUpAt
        interactions(first: 5) { nodes { id kind summary occurredAt } }
      }
      ... on NotFound { message }
    }
  }
"""
E2E_CONTACTS = """
  query Contacts($first: Int!, $after: String) {
    contacts(first: $first, after: $after, orderBy: NAME) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node { id displayName } }
    }
  }
"""
E2E_INTERACTIONS = (
    "query ($after: String) { interactions(first: 5, after: $after) { nodes { id } } }"
)

# The API suites' listings (tests/api/test_contacts.py).
API_LIST = """
query($first: Int, $after: String, $filter: ContactFilter, $orderBy: ContactOrder) {
  contacts(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id displayName company nextFollowUpAt lastInteractionAt } }
  }
}
"""
API_INTERACTIONS = """
query($contact: ID!, $first: Int, $after: String) {
  interactions(contactId: $contact, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { summary occurredAt contacts { firstName } }
  }
}
"""
SENTIMENT = (
    "query($i: ID!) { interaction(id: $i) { ... on Interaction { sentiment { compound label } } } }"
)


def _readme_listing() -> str:
    blocks = re.findall(r"```graphql\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
    [listing] = [block for block in blocks if block.startswith("query")]
    return str(listing)


def _cursor(key: str, n: int) -> Variables:
    """The n-th forward cursor of a listing (negative: from the end)."""
    return lambda w: {"cursor": w.cursors[key][n]}


def _page(order: str, **fixed: Any) -> Variables:
    return lambda w: {"order": order, **fixed}


def _forged(payload: bytes) -> str:
    return base64.urlsafe_b64encode(payload).decode()


def _orders() -> list[Operation]:
    """Every order, both directions, both bounds, and the empty pages at both ends."""
    found: list[Operation] = []
    for order in ORDERS:
        key = f"contacts:{order}"

        def at(
            n: int, argument: str, size: dict[str, int], key: str = key, order: str = order
        ) -> Variables:
            return lambda w: {**size, "order": order, argument: w.cursors[key][n]}

        found += [
            Operation(f"{order.lower()}: first page", BOTH_WAYS, _page(order, first=5)),
            Operation(f"{order.lower()}: after the 4th", BOTH_WAYS, at(3, "after", {"first": 5})),
            Operation(f"{order.lower()}: last page", BOTH_WAYS, _page(order, last=4)),
            Operation(f"{order.lower()}: before the 10th", BOTH_WAYS, at(9, "before", {"last": 3})),
            Operation(
                f"{order.lower()}: after the last (empty)", BOTH_WAYS, at(-1, "after", {"first": 5})
            ),
            Operation(
                f"{order.lower()}: before the first (empty)",
                BOTH_WAYS,
                at(0, "before", {"last": 5}),
            ),
            Operation(
                f"{order.lower()}: between two cursors",
                BOTH_WAYS,
                lambda w, key=key, order=order: {
                    "first": 20,
                    "order": order,
                    "after": w.cursors[key][1],
                    "before": w.cursors[key][8],
                },
            ),
        ]
    return found


def _filters() -> list[Operation]:
    """Every filter of ContactFilter, alone and together, over the orders in turn."""
    filters: list[tuple[str, Callable[[World], dict[str, Any]]]] = [
        ("search, unicode", lambda w: {"search": "zoë"}),
        ("search, case folded", lambda w: {"search": "ACME"}),
        ("search, LIKE's own characters", lambda w: {"search": "100%_/"}),
        ("search, quote and backslash", lambda w: {"search": 'o"neil \\ back'}),
        ("search, emoji", lambda w: {"search": "👨‍👩‍👧"}),
        ("search, empty", lambda w: {"search": ""}),
        ("company, folded", lambda w: {"company": "acme"}),
        ("company, SQL in it", lambda w: {"company": "'; SELECT 1; --"}),
        ("stages", lambda w: {"stages": ["ACTIVE"]}),
        ("stages, none match", lambda w: {"stages": ["NEW", "CLOSE"]}),
        ("stages, empty list", lambda w: {"stages": []}),
        ("follow-up due before", lambda w: {"followUpDueBefore": "2100-01-01T00:00:00Z"}),
        ("birthday today", lambda w: {"birthdayWithinDays": 0}),
        ("birthday within a year", lambda w: {"birthdayWithinDays": 366}),
        ("one tag", lambda w: {"tagIds": [w.tags[0]]}),
        ("every tag", lambda w: {"tagIds": w.tags}),
        ("a tag nobody has", lambda w: {"tagIds": [w.tags[2]]}),
        ("Bob's contact id as a tag", lambda w: {"tagIds": [w.bob_contact]}),
        (
            "tag, stage and search together",
            lambda w: {"tagIds": [w.tags[1]], "stages": ["ACTIVE"], "search": "a"},
        ),
        ("null filter", lambda w: {}),
    ]
    found = []
    for n, (label, where) in enumerate(filters):
        order = ORDERS[n % len(ORDERS)]
        found.append(
            Operation(
                f"filter: {label}",
                PAGE,
                lambda w, where=where, order=order: {
                    "first": 4,
                    "order": order,
                    "filter": where(w),
                },
            )
        )
    return found


CORPUS: list[Operation] = [
    # -- the README session and the playground tab ---------------------------------------------
    Operation("readme: Contacts", _readme_listing()),
    Operation(
        "playground: Contacts",
        (ROOT / "api" / "playground.graphql").read_text(),
        operation_name="Contacts",
    ),
    # -- the e2e suite --------------------------------------------------------------------------
    Operation("e2e: Me", E2E_ME),
    Operation("e2e: Contact", E2E_CONTACT, lambda w: {"id": w.contacts[0]}),
    Operation("e2e: Contact of Bob's", E2E_CONTACT, lambda w: {"id": w.bob_contact}),
    Operation("e2e: Contacts", E2E_CONTACTS, lambda w: {"first": 10}),
    Operation(
        "e2e: Contacts, next page",
        E2E_CONTACTS,
        lambda w: {"first": 10, "after": w.cursors["contacts:NAME"][9]},
    ),
    # Past the page limit: graphql's own error, from the resolvers.
    Operation("e2e: Contacts, first 1000", E2E_CONTACTS, lambda w: {"first": 1000}, False),
    Operation("e2e: interactions", E2E_INTERACTIONS),
    Operation(
        "e2e: interactions, next page",
        E2E_INTERACTIONS,
        lambda w: {"after": w.cursors["interactions"][4]},
    ),
    Operation("e2e: NoSuchField", "query NoSuchField { noSuchField }", compiles=False),
    Operation(
        "e2e: Pull",
        "query Pull($clientId: ID!) { syncPull(clientId: $clientId, schemaVersion: 1) "
        "{ changes cursor hasMore } }",
        lambda w: {"clientId": "corpus-phone"},
    ),
    # -- the API suites -------------------------------------------------------------------------
    Operation("api: list by name", API_LIST, lambda w: {"first": 3, "orderBy": "NAME"}),
    Operation("api: list, no arguments", API_LIST),
    Operation(
        "api: a contact's interactions", API_INTERACTIONS, lambda w: {"contact": w.contacts[3]}
    ),
    Operation("api: me and tags", "{ me { id } tags { id } }"),
    Operation("api: count", "{ contacts { totalCount } }"),
    Operation("api: first 10000", "{ contacts(first: 10000) { totalCount } }", compiles=False),
    Operation("api: first -1", "{ contacts(first: -1) { totalCount } }", compiles=False),
    Operation(
        "api: birthday within 400 days",
        "{ contacts(filter: {birthdayWithinDays: 400}) { totalCount } }",
        compiles=False,
    ),
    Operation("api: unknown field", "{ contacts { nope } }", compiles=False),
    Operation("api: every contact field", LOOKUP, lambda w: {"id": w.contacts[0]}),
    # -- the bench queries ----------------------------------------------------------------------
    Operation("bench: Home", HOME_QUERY, operation_name="Home"),
    Operation("bench: reconnect suggestions", RECONNECT, compiles=False),
    Operation("bench: introduction suggestions", INTRODUCTIONS, compiles=False),
    Operation("bench: conversation starters", STARTERS, lambda w: {"c": w.contacts[0]}, False),
    Operation(
        "bench: Pull",
        PULL,
        lambda w: {"clientId": "corpus-bench", "cursor": None, "limit": 5},
    ),
    # -- every order, first/after and last/before ------------------------------------------------
    *_orders(),
    # -- every filter ---------------------------------------------------------------------------
    *_filters(),
    # -- me, tags, lookups ----------------------------------------------------------------------
    Operation("me, every field", ME),
    Operation("me as Bob", ME, user="bob"),
    Operation("tags, every field", "{ tags { __typename id name color } }"),
    Operation("contact, unicode and nulls", LOOKUP, lambda w: {"id": w.contacts[2]}),
    Operation("contact, every name", LOOKUP, lambda w: {"id": w.contacts[6]}),
    Operation("contact, introduced by a deleted one", LOOKUP, lambda w: {"id": w.contacts[-1]}),
    Operation("contact, deleted", LOOKUP, lambda w: {"id": w.deleted}),
    Operation("contact, Bob's", LOOKUP, lambda w: {"id": w.bob_contact}),
    Operation("contact, upper-case id", LOOKUP, lambda w: {"id": w.contacts[0].upper()}),
    Operation(
        "contact, unknown id", LOOKUP, lambda w: {"id": "00000000-0000-0000-0000-000000000000"}
    ),
    Operation("contact, not an id", LOOKUP, lambda w: {"id": "not-an-id"}, False),
    Operation("interaction", INTERACTION, lambda w: {"id": w.interactions[0]}),
    Operation("interaction, two contacts", INTERACTION, lambda w: {"id": w.interactions[-1]}),
    Operation("interaction, deleted", INTERACTION, lambda w: {"id": w.deleted_interaction}),
    Operation("interaction, Bob's", INTERACTION, lambda w: {"id": w.bob_interaction}),
    # -- interactions, and a contact's ----------------------------------------------------------
    Operation("interactions, all", INTERACTIONS, lambda w: {"c": None, "first": 3}),
    Operation(
        "interactions, all, next page",
        INTERACTIONS,
        lambda w: {"c": None, "first": 3, "after": w.cursors["interactions"][2]},
    ),
    Operation(
        "interactions, one contact's, next page",
        INTERACTIONS,
        lambda w: {"c": w.contacts[7], "first": 1, "after": w.cursors["interactions:7"][0]},
    ),
    Operation(
        "interactions of a deleted contact",
        INTERACTIONS,
        lambda w: {"c": w.deleted, "first": 2},
        False,
    ),
    Operation(
        "interactions of Bob's contact",
        INTERACTIONS,
        lambda w: {"c": w.bob_contact, "first": 2},
        False,
    ),
    Operation(
        "contact's interactions, first page",
        CONTACT_INTERACTIONS,
        lambda w: {"id": w.contacts[7], "first": 1},
    ),
    Operation(
        "contact's interactions, next page",
        CONTACT_INTERACTIONS,
        lambda w: {"id": w.contacts[7], "first": 1, "after": w.cursors["interactions:7"][0]},
    ),
    Operation(
        "contact's interactions, next page, upper-case id",
        CONTACT_INTERACTIONS,
        lambda w: {
            "id": w.contacts[7].upper(),
            "first": 2,
            "after": w.cursors["interactions:7"][1],
        },
    ),
    Operation(
        "contact's interactions, after the last",
        CONTACT_INTERACTIONS,
        lambda w: {"id": w.contacts[7], "first": 5, "after": w.cursors["interactions:7"][-1]},
    ),
    Operation(
        "contact's interactions, another contact's cursor",
        CONTACT_INTERACTIONS,
        lambda w: {"id": w.contacts[6], "first": 1, "after": w.cursors["interactions:7"][0]},
        False,
    ),
    Operation(
        "contact's interactions, not a cursor",
        CONTACT_INTERACTIONS,
        lambda w: {"id": w.contacts[6], "first": 1, "after": "nope"},
        False,
    ),
    Operation(
        "contact's interactions, a cursor for an unknown contact",
        CONTACT_INTERACTIONS,
        lambda w: {
            "id": w.contacts[6],
            "first": 1,
            "after": _forged(
                b'["interactions:00000000-0000-0000-0000-000000000000",'
                b'"2026-01-01T00:00:00+00:00","00000000-0000-0000-0000-000000000000"]'
            ),
        },
        False,
    ),
    Operation(
        "contacts' interactions after a cursor, under a list",
        "query($a: String) { contacts(first: 3) { nodes { id interactions(first: 1, after: $a) "
        "{ nodes { id } } } } }",
        lambda w: {"a": w.cursors["interactions:3"][0]},
        False,
    ),
    Operation("api: sentiment", SENTIMENT, lambda w: {"i": w.interactions[1]}),
    Operation(
        "sentiment of every interaction",
        "{ interactions(first: 100) { nodes { id summary body "
        "sentiment { __typename compound label } } } }",
    ),
    Operation(
        "sentiment through a contact's interactions",
        "{ contacts(first: 100) { nodes { interactions(first: 5) { nodes { "
        "s: sentiment { label } sentiment { compound } } } } } }",
    ),
    # -- another user, bad cursors, nobody ------------------------------------------------------
    Operation("Bob's listing", PAGE, lambda w: {"first": 100, "order": "NAME"}, user="bob"),
    Operation(
        "Alice's cursor replayed by Bob",
        PAGE,
        lambda w: {"first": 5, "order": "NAME", "after": w.cursors["contacts:NAME"][0]},
        user="bob",
    ),
    Operation(
        "Bob's cursor replayed by Alice",
        PAGE,
        lambda w: {"first": 5, "order": "NAME", "after": w.cursors["bob:contacts:NAME"][0]},
    ),
    Operation(
        "a cursor of another order",
        PAGE,
        lambda w: {"first": 2, "order": "CREATED", "after": w.cursors["contacts:NAME"][0]},
        False,
    ),
    Operation(
        "not a cursor",
        PAGE,
        lambda w: {"first": 2, "order": "NAME", "after": "not a cursor"},
        False,
    ),
    Operation(
        "a cursor naming a NULL id",
        BOTH_WAYS,
        lambda w: {
            "last": 2,
            "order": "NEXT_FOLLOW_UP",
            "before": _forged(b'["contacts:NEXT_FOLLOW_UP",null,null]'),
        },
        False,
    ),
    Operation(
        "a cursor with a NULL follow-up",
        BOTH_WAYS,
        lambda w: {
            "first": 3,
            "order": "NEXT_FOLLOW_UP",
            "after": _forged(
                b'["contacts:NEXT_FOLLOW_UP",null,"00000000-0000-0000-0000-000000000000"]'
            ),
        },
    ),
    Operation(
        "an interactions cursor of another listing",
        INTERACTIONS,
        lambda w: {"c": w.contacts[1], "first": 2, "after": w.cursors["contacts:NAME"][0]},
        False,
    ),
    Operation(
        "a NUL in a filter",
        PAGE,
        lambda w: {"first": 2, "order": "NAME", "filter": {"company": "a\x00b"}},
        False,
    ),
    Operation(
        "an unpaired surrogate in a filter",
        PAGE,
        lambda w: {"first": 2, "order": "NAME", "filter": {"search": "\ud800"}},
        False,
    ),
    Operation("no token", HOME_QUERY, operation_name="Home", compiles=False, user="nobody"),
    Operation("a forged token", HOME_QUERY, operation_name="Home", compiles=False, user="forged"),
    # -- edge values ----------------------------------------------------------------------------
    Operation(
        "search of 200 characters (the longest allowed)",
        PAGE,
        lambda w: {"first": 3, "order": "NAME", "filter": {"search": "é" * 200}},
    ),
    Operation(
        "search of 201 characters",
        PAGE,
        lambda w: {"first": 3, "order": "NAME", "filter": {"search": "a" * 201}},
        False,
    ),
    Operation(
        "search with separators, RTL and combining marks",
        PAGE,
        lambda w: {
            "first": 3,
            "order": "CREATED",
            "filter": {"search": "\u2028\u2029 \u05d0\u05d1 e\u0301 \ufeff"},
        },
    ),
    Operation(
        "follow-up due before, an offset time",
        PAGE,
        lambda w: {
            "first": 20,
            "order": "NEXT_FOLLOW_UP",
            "filter": {"followUpDueBefore": "2030-06-01T10:00:00.000001+05:30"},
        },
    ),
    Operation(
        "follow-up due before the year 1800",
        PAGE,
        lambda w: {
            "first": 2,
            "order": "NAME",
            "filter": {"followUpDueBefore": "1800-01-01T00:00:00Z"},
        },
        False,
    ),
    Operation("tags as Bob", "{ tags { id name color } }", user="bob"),
    # -- targets (issue 18): the fields compile; the lists and offers are resolvers ---------------
    Operation(
        "target fields of a page",
        "{ contacts(first: 50) { nodes { id isTarget targetReason targetGoalId researchNotes "
        "targetMetAt } } }",
    ),
    Operation("targets", "{ targets { id displayName targetReason } }", compiles=False),
    Operation(
        "introduction paths",
        "query($id: ID!) { introductionPaths(targetId: $id) { __typename "
        "... on IntroductionPaths { paths { contact { id } score reasons { kind fact } } } } }",
        lambda w: {"id": w.contacts[0]},
        False,
    ),
    Operation(
        "a follow-up offer",
        "query($id: ID!) { interaction(id: $id) { ... on Interaction { id "
        "followUpOffer { dueOn reason contacts { id } } } } }",
        lambda w: {"id": w.interactions[0]},
        False,
    ),
    Operation("interaction, not an id", INTERACTION, lambda w: {"id": "42"}, False),
    Operation(
        "me through fragments",
        "query { me { ...U ... on User { __typename timeZone } } } "
        "fragment U on User { id leadDays { followUp } }",
    ),
    # -- shapes ----------------------------------------------------------------------------------
    Operation(
        "aliases, fragments and directives",
        "query($s: Boolean!) { a: contacts(first: 2, orderBy: CREATED) { nodes { id } } "
        "b: contacts(first: 3) { x: nodes { n: displayName i: id @skip(if: $s) ...F } } } "
        "fragment F on Contact { birthday { __typename day } emails { value } }",
        lambda w: {"s": True},
    ),
    Operation(
        "empty first page, every connection field",
        "{ contacts(first: 0) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor "
        "endCursor } edges { cursor } nodes { id } } }",
    ),
    Operation(
        "an insight field falls back",
        "{ contacts(first: 2) { nodes { health { score } } } }",
        compiles=False,
    ),
    # Follow-ups (issue 18) are resolver fields: alone or beside a compiled root, they fall back.
    Operation(
        "follow-up draft falls back",
        FOLLOW_UP_DRAFT,
        lambda w: {"i": w.interactions[5], "tone": "FORMAL"},
        compiles=False,
    ),
    Operation(
        "follow-up draft of a deleted interaction falls back",
        FOLLOW_UP_DRAFT,
        lambda w: {"i": w.deleted_interaction},
        compiles=False,
    ),
    Operation(
        "follow-up draft of Bob's interaction falls back",
        FOLLOW_UP_DRAFT,
        lambda w: {"i": w.bob_interaction},
        compiles=False,
    ),
    Operation(
        "follow-ups owed beside a compiled root fall back",
        "{ me { id } followUpsOwed(afterDays: 0) { contact { id } interaction { id } reason } }",
        compiles=False,
    ),
    Operation(
        "introspection falls back", "{ me { id } __schema { queryType { name } } }", compiles=False
    ),
]
