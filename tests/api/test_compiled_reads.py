"""The compiled read path answers byte for byte as the resolvers do (reads/, DESIGN §10).

Two apps share one seeded database: one with RAPPORT_COMPILED_READS on (the default), one with
it off. Every operation of the corpus goes to both and the response bodies must be identical
bytes. The compiled app's counters say which path answered, so a corpus that silently fell
back everywhere fails here too.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from strawberry.extensions.validation_cache import _get_validate_cache

from api.app import create_app
from bench.home import HOME_QUERY
from reads import compile, service
from reads.service import CompiledReads
from schema.limits import CACHE_SIZE
from tests.api.graphql import Account, create_contact, data, log_interaction, sign_up
from tests.conftest import cloned_database, make_settings, serve

CONTACT = """
fragment Person on Contact {
  id firstName lastName displayName company title
  emails { label value } phones { label value } urls { __typename label value }
  birthday { month day year } workStartedOn howWeMet interests preferredChannel
  communicationNotes cadenceDays snoozedUntil stage importance notes leadDays
  lastInteractionAt nextFollowUpAt createdAt updatedAt tags { id name color }
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

ME = """
query { me { __typename id email displayName timeZone reminderHour quietHoursStart quietHoursEnd
  dailyDigest sentimentEnabled leadDays { birthday anniversary followUp reminder } createdAt } }
"""

ORDERS = ["NAME", "NEXT_FOLLOW_UP", "LAST_INTERACTION", "CREATED"]

NAMES = [
    ("Zoë", "Ångström"),
    ("José", 'O"Neil \\ back'),
    ("😀 Emoji", "Family 👨‍👩‍👧"),
    ("  Spaced", "Out\u3000"),
    ("李", "小龍"),
    ("Tab\tand", "new\nline"),
    ("Control\x01", "Char\x1f"),
    ("ASCII", "Plain"),
    ("", "Lastonly"),
    ("Same", "Name"),
    ("Same", "Name"),
    ("Ünïcödé", "Straße"),
]


@dataclass
class World:
    alice: Account
    bob: Account
    tags: list[str]
    contacts: list[str]
    deleted: str
    bob_contact: str
    interactions: list[str]
    deleted_interaction: str
    bob_interaction: str


@dataclass
class Apps:
    compiled: httpx.AsyncClient
    resolvers: httpx.AsyncClient
    reads: CompiledReads
    world: World
    statements: list[str]


async def _seed(http: httpx.AsyncClient) -> World:
    alice, bob = await sign_up(http), await sign_up(http)
    token = alice.token
    tags = []
    for name in ("Inner circle", "Work ✨", 'Quote "tag"'):
        created = await data(
            http,
            'mutation($n: String!) { createTag(input: {name: $n, color: "#aabbcc"}) '
            "{ ... on Tag { id } } }",
            {"n": name},
            token,
        )
        tags.append(created["createTag"]["id"])
    today = datetime.now(UTC).date()
    ids = []
    interactions = []
    for n, (first, last) in enumerate(NAMES):
        fields: dict[str, Any] = {"firstName": first or "x", "lastName": last}
        if n % 2 == 0:
            fields |= {
                "company": "Acme" if n % 4 == 0 else "ACME",
                "title": "CTO",
                "emails": [{"label": "work", "value": f"p{n}@example.com"}, {"value": "x@y.z"}],
                "phones": [{"label": "mobile", "value": "+1 555 0100"}],
                "urls": [{"label": "", "value": "https://example.com/ü"}],
                "interests": ["jazz", "chess ♟"],
                "preferredChannel": "EMAIL",
                "cadenceDays": 7 + n,
                "stage": "ACTIVE",
                "importance": "VIP",
                "notes": "Line one\nline two — “quoted”",
                "leadDays": [0, 3],
                "communicationNotes": "prefers mornings",
                "howWeMet": "conference",
                "workStartedOn": "2019-03-04",
            }
        if n % 3 == 0:
            soon = today + timedelta(days=n)
            fields["birthday"] = {"month": soon.month, "day": soon.day, "year": 1980 + n}
        elif n % 3 == 1:
            fields["birthday"] = {"month": 2, "day": 29}
        if n == 5:
            fields["snoozedUntil"] = str(today + timedelta(days=30))
        contact = await create_contact(http, token, **fields)
        ids.append(contact["id"])
    for n, contact_id in enumerate(ids[:8]):
        for k in range(n % 4):
            # Times with and without microseconds, in and out of UTC.
            at = datetime(2026, 1, 1 + n, 9, k, 0, 123456 * (k % 2), tzinfo=UTC)
            logged = await log_interaction(
                http,
                token,
                [contact_id] if k != 2 else [contact_id, ids[-1]],
                occurredAt=at.isoformat(),
                summary=f"Call {k} “{NAMES[n][0]}”",
                body=None if k == 0 else "Body\u2028with separators",
                given="a book" if k == 1 else None,
                kind="CALL" if k % 2 else "MEAL",
            )
            interactions.append(logged["id"])
    tag_contacts = (
        "mutation($t: ID!, $c: [ID!]!) { tagContacts(tagId: $t, contactIds: $c) { __typename } }"
    )
    await data(http, tag_contacts, {"t": tags[0], "c": ids[:5]}, token)
    await data(http, tag_contacts, {"t": tags[1], "c": ids[3:9]}, token)
    deleted = await create_contact(http, token, firstName="Deleted", lastName="Person")
    orphan = await create_contact(
        http, token, firstName="Introduced", lastName="ByDeleted", introducedById=deleted["id"]
    )
    doomed = await log_interaction(http, token, [ids[0]], summary="deleted interaction")
    await data(
        http,
        "mutation($id: ID!) { deleteContact(id: $id) { __typename } }",
        {"id": deleted["id"]},
        token,
    )
    await data(
        http,
        "mutation($id: ID!) { deleteInteraction(id: $id) { __typename } }",
        {"id": doomed["id"]},
        token,
    )
    await data(
        http,
        "mutation { updateMe(input: {displayName: \"Alice 'A' 😀\", quietHoursStart: "
        '"22:00:00", quietHoursEnd: "07:30:00.000250", leadDays: {birthday: [1, 2]}}) '
        "{ __typename } }",
        token=token,
    )
    introduced = await create_contact(
        http, token, firstName="Introduced", lastName="ByZoë", introducedById=ids[0]
    )
    ids += [introduced["id"], orphan["id"]]
    bob_contact = await create_contact(http, bob.token, firstName="Bob's", lastName="Secret")
    bobs = await log_interaction(http, bob.token, [bob_contact["id"]], summary="bob only")
    return World(
        alice,
        bob,
        tags,
        ids,
        deleted["id"],
        bob_contact["id"],
        interactions,
        doomed["id"],
        bobs["id"],
    )


@pytest.fixture(scope="module")
async def apps(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Apps]:
    tmp: Path = tmp_path_factory.mktemp("compiled")
    async with cloned_database(server_url, template_db) as url:
        # Sessions trusted for a minute: a statement count is not disturbed by a recheck.
        compiled_app = create_app(make_settings(tmp, session_recheck_seconds=60), database_url=url)
        resolver_app = create_app(make_settings(tmp, compiled_reads=False), database_url=url)
        reads = compiled_app.state.compiled_reads
        statements: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        def log_queries(connection: Any, record: Any) -> None:
            # The compiled path talks to asyncpg without SQLAlchemy: count there too.
            record.driver_connection.add_query_logger(lambda q: statements.append(q.query))

        engine = compiled_app.state.engine
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        event.listen(engine.sync_engine.pool, "connect", log_queries)
        assert isinstance(reads, CompiledReads)
        assert resolver_app.state.compiled_reads is None
        async with (
            serve(compiled_app) as a,
            serve(resolver_app) as b,
            httpx.AsyncClient(base_url=a, timeout=30) as compiled,
            httpx.AsyncClient(base_url=b, timeout=30) as resolvers,
        ):
            world = await _seed(resolvers)
            yield Apps(compiled, resolvers, reads, world, statements)


async def _both(
    apps: Apps,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    compiled: bool,
) -> dict[str, Any]:
    """Send to both apps; require identical bytes; return the decoded body."""
    token = apps.world.alice.token if token is None else token
    # json.dumps escapes non-ASCII, so an unpaired surrogate travels as a phone might send it.
    body = json.dumps({"query": query, "variables": variables or {}})
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    before = apps.reads.compiled
    got = await apps.compiled.post("/graphql", content=body, headers=headers)
    ran = apps.reads.compiled - before
    want = await apps.resolvers.post("/graphql", content=body, headers=headers)
    assert got.status_code == want.status_code
    assert got.headers["content-type"] == want.headers["content-type"]
    assert got.content == want.content, (query, variables)
    assert ran == (1 if compiled else 0), ("compiled" if compiled else "fell back", query)
    decoded: dict[str, Any] = json.loads(got.content)
    return decoded


async def test_home_query_compiles_and_matches(apps: Apps) -> None:
    body = await _both(apps, HOME_QUERY, compiled=True)
    edges = body["data"]["contacts"]["edges"]
    assert len(edges) == len(NAMES) + 2  # and the two introduced contacts
    assert any(e["node"]["interactions"]["nodes"] for e in edges)


async def test_the_home_query_is_one_statement_and_one_round_trip(apps: Apps) -> None:
    await _both(apps, HOME_QUERY, compiled=True)  # signs in: the session is checked once
    sent = []
    for _ in range(2):
        apps.statements.clear()
        await _both(apps, HOME_QUERY, compiled=True)
        await asyncio.sleep(0)  # asyncpg calls its query loggers soon, not at once
        assert len(apps.statements) == 1, apps.statements
        sent.append(apps.statements[0])
    # The same text each time, so asyncpg's statement cache (keyed by the text) has it
    # prepared on every pooled connection after its first use: bind and execute go out
    # together, one round trip.
    assert sent[0] == sent[1]


async def test_a_session_check_adds_one_statement_and_no_transaction(apps: Apps) -> None:
    # A token this process has not seen: its session is checked before the read, with one
    # SELECT (no BEGIN and ROLLBACK round trips around it).
    newcomer = await sign_up(apps.resolvers)
    apps.statements.clear()
    await _both(apps, HOME_QUERY, token=newcomer.token, compiled=True)
    await asyncio.sleep(0)
    assert len(apps.statements) == 2, apps.statements
    assert "auth_sessions" in apps.statements[0]


@pytest.mark.parametrize("order", ORDERS)
async def test_every_order_pages_through_every_contact(apps: Apps, order: str) -> None:
    seen: list[str] = []
    after = None
    while True:
        variables = {"first": 5, "after": after, "order": order}
        page = (await _both(apps, PAGE, variables, compiled=True))["data"]["contacts"]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == sorted(apps.world.contacts)
    assert apps.world.deleted not in seen


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


@pytest.mark.parametrize("order", ORDERS)
async def test_every_order_pages_backward_through_every_contact(apps: Apps, order: str) -> None:
    forward = (await _both(apps, BOTH_WAYS, {"first": 100, "order": order}, compiled=True))["data"][
        "contacts"
    ]["edges"]
    seen: list[str] = []
    before = None
    while True:
        variables = {"last": 3, "before": before, "order": order}
        page = (await _both(apps, BOTH_WAYS, variables, compiled=True))["data"]["contacts"]
        seen = [edge["node"]["id"] for edge in page["edges"]] + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert seen == [edge["node"]["id"] for edge in forward]
    # Every forward cursor, as `before`, as `after`, and both together.
    cursors = [edge["cursor"] for edge in forward]
    for k, cursor in enumerate(cursors):
        cases: list[dict[str, Any]] = [
            {"last": 2, "before": cursor},
            {"first": 2, "after": cursor},
            {"last": 0, "before": cursor},
            {"first": 3, "after": cursors[max(0, k - 4)], "before": cursor},
            {"last": 3, "after": cursors[max(0, k - 4)], "before": cursor},
        ]
        for variables in cases:
            await _both(apps, BOTH_WAYS, {**variables, "order": order}, compiled=True)


async def test_backward_pages_with_filters(apps: Apps) -> None:
    world = apps.world
    filters: list[dict[str, Any]] = [
        {"company": "acme"},
        {"stages": ["ACTIVE"]},
        {"tagIds": [world.tags[1]]},
        {"search": "zzz-nothing"},
    ]
    for where in filters:
        for order in ORDERS:
            for variables in ({"last": 2}, {"last": 100}, {"first": 2}):
                await _both(
                    apps, BOTH_WAYS, {**variables, "order": order, "filter": where}, compiled=True
                )


async def test_filters(apps: Apps) -> None:
    world = apps.world
    soon = datetime.now(UTC) + timedelta(days=30)
    filters: list[dict[str, Any]] = [
        {},
        {"search": "zoë"},
        {"search": "ACME"},
        {"search": "100%_/"},
        {"search": 'o"neil \\ back'},
        {"company": "'; SELECT 1; --"},
        {"search": ""},
        {"company": "acme"},
        {"company": ""},
        {"stages": ["ACTIVE"]},
        {"stages": ["NEW", "CLOSE"]},
        {"stages": []},
        {"followUpDueBefore": soon.isoformat()},
        {"birthdayWithinDays": 0},
        {"birthdayWithinDays": 10},
        {"birthdayWithinDays": 366},
        {"tagIds": [world.tags[0]]},
        {"tagIds": world.tags},
        {"tagIds": [world.tags[2]]},
        {"tagIds": []},
        {"tagIds": [world.tags[1]], "stages": ["ACTIVE"], "search": "a"},
    ]
    for where in filters:
        for order in ORDERS:
            variables = {"first": 4, "order": order, "filter": where}
            await _both(apps, PAGE, variables, compiled=True)


async def test_shapes_that_compile(apps: Apps) -> None:
    cases = [
        "{ me { id displayName } tags { id name color __typename } }",
        ME,
        "{ __typename tags { name } }",
        "{ contacts { totalCount } }",
        "{ contacts(first: 0) { pageInfo { hasNextPage endCursor } edges { cursor } nodes { id } } }",
        "{ contacts(first: 100) { nodes { displayName } } }",
        "{ a: contacts(first: 2, orderBy: CREATED) { nodes { id } } "
        "b: contacts(first: 3, orderBy: NAME) { x: nodes { n: displayName i: id } } }",
        "{ contacts(first: 3) { edges { node { id } } edges { cursor node { displayName } } } }",
        "{ contacts(first: 3) { edges { a: node { id } b: node { tags { name } } } } }",
        "query($s: Boolean!, $i: Boolean!) { contacts(first: 3) { nodes { id @skip(if: $s) "
        "displayName @include(if: $i) company } } }",
        "{ contacts(first: 3) { nodes { ... on Contact { id } ...F } } } "
        "fragment F on Contact { displayName interactions(first: 1) { nodes { id } } }",
        "{ contacts(first: 3) { nodes { birthday { __typename day } emails { value } } } }",
        "{ contacts(first: 3) { nodes { interactions(first: 0) { totalCount pageInfo "
        "{ hasNextPage endCursor } nodes { id } } } } }",
        "{ contacts(first: 5, filter: null) { nodes { interactions { edges { cursor } } } } }",
        "{ contacts { nodes { introducedBy { id } } } }",
        "{ interactions(first: 100) { nodes { id contacts { displayName } } } }",
        "{ interactions(first: 2) { pageInfo { hasPreviousPage startCursor } } }",
        "{ contacts(last: 2) { pageInfo { startCursor } nodes { id } } }",
        "{ contacts(last: 2, orderBy: LAST_INTERACTION) { edges { cursor } totalCount } }",
        "{ contacts(first: null, last: 1) { pageInfo { hasNextPage hasPreviousPage } } }",
        "{ contacts(first: null) { pageInfo { hasPreviousPage } nodes { id } } }",
    ]
    for query in cases:
        await _both(apps, query, {"s": True, "i": False}, compiled=True)
        if "$s" in query:
            await _both(apps, query, {"s": False, "i": True}, compiled=True)


async def test_pages_without_page_info_in_every_order(apps: Apps) -> None:
    # No pageInfo: the statement reads no extra row and numbers nothing, and aggregates the
    # rows in the list's own order (NULLs where each order puts them).
    for order in ORDERS:
        await _both(
            apps,
            f"{{ contacts(first: 20, orderBy: {order}) {{ edges {{ cursor node {{ id "
            "interactions(first: 2) { edges { cursor node { id occurredAt } } "
            "nodes { summary } } } } } }",
            compiled=True,
        )
    one_contact = (
        "query($c: ID) { interactions(contactId: $c, first: 2) { edges { cursor node { id } } "
        "nodes { occurredAt } } }"
    )
    for contact_id in (apps.world.contacts[3], None):
        await _both(apps, one_contact, {"c": contact_id}, compiled=True)


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


async def test_lookups_by_id(apps: Apps) -> None:
    world = apps.world
    for contact_id in [*world.contacts, world.deleted, world.bob_contact]:
        await _both(apps, LOOKUP, {"id": contact_id}, compiled=True)
    await _both(apps, LOOKUP, {"id": world.contacts[0].upper()}, compiled=True)
    await _both(apps, LOOKUP, {"id": "00000000-0000-0000-0000-000000000000"}, compiled=True)
    for interaction_id in [*world.interactions, world.deleted_interaction, world.bob_interaction]:
        await _both(apps, INTERACTION, {"id": interaction_id}, compiled=True)


async def test_interactions_page_through_all_and_one_contacts(apps: Apps) -> None:
    world = apps.world
    for contact_id in [None, world.contacts[3], world.contacts[-3], world.contacts[-1]]:
        after = None
        while True:
            variables = {"c": contact_id, "first": 2, "after": after}
            page = (await _both(apps, INTERACTIONS, variables, compiled=True))["data"]
            info = page["interactions"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            after = info["endCursor"]


async def test_everything_unusual_falls_back_with_the_same_answer(apps: Apps) -> None:
    world = apps.world
    cursor_elsewhere = (await _both(apps, PAGE, {"first": 1, "order": "NAME"}, compiled=True))[
        "data"
    ]["contacts"]["pageInfo"]["endCursor"]
    cases: list[tuple[str, dict[str, Any]]] = [
        (PAGE, {"first": 101, "order": "NAME"}),
        (PAGE, {"first": -1, "order": "NAME"}),
        (PAGE, {"first": 2, "order": "CREATED", "after": cursor_elsewhere}),
        (PAGE, {"first": 2, "order": "NAME", "after": "not a cursor"}),
        (PAGE, {"first": 2, "order": "NAME", "filter": {"birthdayWithinDays": 367}}),
        (PAGE, {"first": 2, "order": "NAME", "filter": {"search": "x" * 201}}),
        (PAGE, {"first": 2, "order": "NAME", "filter": {"tagIds": ["nope"]}}),
        (PAGE, {"first": 2, "order": "NAME", "filter": {"company": "a\u0000b"}}),
        (PAGE, {"first": 2, "order": "NAME", "filter": {"search": "\ud800"}}),
        (
            PAGE,
            {"first": 2, "order": "NAME", "filter": {"followUpDueBefore": "1800-01-01T00:00:00Z"}},
        ),
        (PAGE, {"first": "two", "order": "NAME"}),
        (PAGE, {"first": 2, "order": "SIDEWAYS"}),
        ("{ contacts { nodes { health { score } } } }", {}),
        ('{ contacts { nodes { interactions(first: 1, after: "x") { nodes { id } } } } }', {}),
        ("{ contact(id: $id) { __typename } }", {}),
        (INTERACTIONS, {"c": world.deleted, "first": 2}),
        (INTERACTIONS, {"c": world.bob_contact, "first": 2}),
        (INTERACTIONS, {"c": "not-an-id", "first": 2}),
        (INTERACTIONS, {"c": world.contacts[1], "first": 2, "after": cursor_elsewhere}),
        (LOOKUP, {"id": "not-an-id"}),
        (LOOKUP, {"id": world.contacts[0] + "\u200b"}),
        ("{ interactions(first: 2) { nodes { sentiment { score } } } }", {}),
        ("{ me { id } __schema { queryType { name } } }", {}),
        ("{ contacts(first: 2) { nodes { interactions(first: 200) { totalCount } } } }", {}),
        (BOTH_WAYS, {"first": 2, "last": 2, "order": "NAME"}),
        (BOTH_WAYS, {"first": 0, "last": 0, "order": "NAME"}),
        (BOTH_WAYS, {"last": 101, "order": "NAME"}),
        (BOTH_WAYS, {"last": -1, "order": "NAME"}),
        (BOTH_WAYS, {"last": 2, "before": "not a cursor", "order": "NAME"}),
        (BOTH_WAYS, {"last": 2, "before": cursor_elsewhere, "order": "CREATED"}),
        (BOTH_WAYS, {"first": 2, "before": cursor_elsewhere, "order": "CREATED"}),
    ]
    for query, variables in cases:
        await _both(apps, query, variables, compiled=False)


async def test_no_token_or_a_bad_one_answers_as_the_resolvers_do(apps: Apps) -> None:
    await _both(apps, HOME_QUERY, token="", compiled=False)
    await _both(apps, HOME_QUERY, token="not-a-token", compiled=False)


async def test_another_users_data_never_appears(apps: Apps) -> None:
    world = apps.world
    query = PAGE.replace("interactions(first: 2)", "interactions(first: 20)")
    bob = await _both(
        apps, query, {"first": 100, "order": "NAME"}, token=world.bob.token, compiled=True
    )
    ids = [e["node"]["id"] for e in bob["data"]["contacts"]["edges"]]
    assert ids == [world.bob_contact]
    alice = await _both(
        apps, "{ contacts(first: 100) { nodes { id } } tags { id } }", compiled=True
    )
    assert world.bob_contact not in [n["id"] for n in alice["data"]["contacts"]["nodes"]]
    # Alice's cursor, replayed by Bob, pages through Bob's contacts only.
    cursor = (await _both(apps, PAGE, {"first": 1, "order": "NAME"}, compiled=True))["data"][
        "contacts"
    ]["pageInfo"]["endCursor"]
    replay = await _both(
        apps,
        PAGE,
        {"first": 5, "order": "NAME", "after": cursor},
        token=world.bob.token,
        compiled=True,
    )
    for edge in replay["data"]["contacts"]["edges"]:
        assert edge["node"]["id"] == world.bob_contact


async def test_plans_are_reused_per_shape(apps: Apps) -> None:
    query = (
        "query($n: Int!, $o: ContactOrder!) { contacts(first: $n, orderBy: $o) { nodes { id } } }"
    )
    for n in (1, 2, 3, 2, 1):
        await _both(apps, query, {"n": n, "o": "NAME"}, compiled=True)
    await _both(apps, query, {"n": 2, "o": "CREATED"}, compiled=True)
    shapes = apps.reads._plans[(query, None)]
    # A page size is part of the shape (reads.compile: Compiler.page_size), the order too.
    assert len(shapes) == 4
    assert sum("LIMIT 2)" in (plan.sql or "") for plan in shapes) == 2


async def test_the_plan_cache_forgets_the_least_recently_used_documents(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "MAX_DOCUMENTS", 2)
    queries = [
        f"{{ tags {{ id }} c{n}: contacts(first: {n}) {{ nodes {{ id }} }} }}" for n in (1, 2, 3)
    ]
    for query in queries:
        await _both(apps, query, compiled=True)
    assert list(apps.reads._plans) == [(q, None) for q in queries[1:]]


def _spread_document(levels: int, spreads: int) -> str:
    """A few hundred bytes that spread each fragment ``spreads`` times, ``levels`` deep."""
    fragments = []
    for n in range(levels):
        inner = " ".join([f"...F{n + 1} @include(if: true)"] * spreads)
        inner = inner if n + 1 < levels else "id"
        fragments.append(f"fragment F{n} on Contact {{ id introducedBy {{ {inner} }} }}")
    return "query($id: ID!) { contact(id: $id) { ...F0 } }\n" + "\n".join(fragments)


async def test_a_fragment_spread_again_adds_no_work_to_the_plan(apps: Apps) -> None:
    # Expanded per spread, 8 levels of 5 spreads made 195,310 guards (63 MiB) from 1.3 KB.
    query = _spread_document(levels=8, spreads=5)
    await _both(apps, query, {"id": apps.world.contacts[0]}, compiled=True)
    [plan] = apps.reads._plans[(query, None)]
    # At most one skip and one include guard per directive written in the document.
    assert len(plan.guards) <= 2 * query.count("@include")


async def test_a_plan_needing_too_many_guards_falls_back(apps: Apps) -> None:
    # Distinct directives on distinct aliases, each a guard: past the bound the resolvers answer.
    fields = " ".join(
        f"c{n}: contacts(first: 1) @include(if: $yes) {{ totalCount }}"
        for n in range(compile.MAX_GUARDS + 1)
    )
    query = f"query($yes: Boolean!) {{ {fields} }}"
    await _both(apps, query, {"yes": True}, compiled=False)


async def test_a_request_that_falls_back_while_compiling_leaves_nothing_cached(
    apps: Apps,
) -> None:
    before = dict(apps.reads._plans)
    for n in range(5):
        # A cursor that does not decode: the resolvers answer, and the text is not kept.
        query = f'{{ contacts(after: "bad") {{ totalCount }} }} # {n} {"x" * 1000}'
        await _both(apps, query, compiled=False)
    assert dict(apps.reads._plans) == before


async def test_a_forged_cursor_with_a_null_id_is_a_typed_error_on_both_paths(apps: Apps) -> None:
    forged = base64.urlsafe_b64encode(b'["contacts:NEXT_FOLLOW_UP",null,null]').decode()
    query = "query($a: String) { contacts(after: $a, orderBy: NEXT_FOLLOW_UP) { totalCount } }"
    body = await _both(apps, query, {"a": forged}, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_get_and_the_graphql_response_media_type_answer_the_same(apps: Apps) -> None:
    headers = {
        "Authorization": f"Bearer {apps.world.alice.token}",
        "Accept": "application/graphql-response+json",
    }
    params = {"query": HOME_QUERY, "operationName": "Home"}
    before = apps.reads.compiled
    got = await apps.compiled.get("/graphql", params=params, headers=headers)
    assert apps.reads.compiled == before + 1
    want = await apps.resolvers.get("/graphql", params=params, headers=headers)
    assert got.status_code == want.status_code == 200
    assert got.headers["content-type"] == want.headers["content-type"]
    assert got.content == want.content


async def test_the_playground_tab_contacts_operation_compiles(apps: Apps) -> None:
    # A document of several operations (the playground's tab, mutations included): the one
    # named compiles, and the answer is the resolvers'.
    document = (Path(__file__).parents[2] / "api" / "playground.graphql").read_text()
    body = json.dumps({"query": document, "operationName": "Contacts"})
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {apps.world.alice.token}",
    }
    before = apps.reads.compiled
    got = await apps.compiled.post("/graphql", content=body, headers=headers)
    assert apps.reads.compiled == before + 1
    want = await apps.resolvers.post("/graphql", content=body, headers=headers)
    assert got.content == want.content
    assert json.loads(got.content)["data"]["contacts"]["totalCount"] == len(NAMES) + 2


async def test_a_text_answered_once_skips_strawberry_after_and_answers_the_same(
    apps: Apps,
) -> None:
    # Parsed and validated the first time; after that reads/extension.py answer_validated
    # answers it before Strawberry runs (its validation cache is not even asked).
    query = "query Again($n: Int!) { contacts(first: $n) { nodes { id displayName } } }"
    await _both(apps, query, {"n": 2}, compiled=True)
    validation = _get_validate_cache(CACHE_SIZE)  # (shared by both apps: one process)

    def asked() -> int:
        return validation.cache_info().hits + validation.cache_info().misses

    before = asked()
    for n in (2, 3):
        await _both(apps, query, {"n": n}, compiled=True)
    assert asked() == before + 2  # the resolver app's two
    # Anything it cannot answer goes through Strawberry, with Strawberry's answer: a variable
    # that does not coerce, no token, a refused token, another operation of the same text.
    await _both(apps, query, {"n": "two"}, compiled=False)
    await _both(apps, query, {"n": 2}, token="", compiled=False)
    await _both(apps, query, {"n": 2}, token="not-a-token", compiled=False)
    assert asked() == before + 2 + 3 * 2  # both apps, through Strawberry each time


async def test_a_remembered_text_sent_with_its_hash_is_persisted(apps: Apps) -> None:
    # Answered before Strawberry, the text must still be stored under its hash: otherwise
    # the client's hash-only requests would be told PERSISTED_QUERY_NOT_FOUND for ever.
    query = "query Persist { contacts(first: 1) { nodes { id } } }"
    await _both(apps, query, compiled=True)
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    headers = {"Authorization": f"Bearer {apps.world.alice.token}"}
    sent = await apps.compiled.post(
        "/graphql", json={"query": query, "extensions": persisted}, headers=headers
    )
    by_hash = await apps.compiled.post("/graphql", json={"extensions": persisted}, headers=headers)
    assert sent.content == by_hash.content
    assert b'"contacts"' in by_hash.content
