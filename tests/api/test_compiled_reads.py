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
from uuid import UUID

import asyncpg
import httpx
import pytest
from sqlalchemy import event
from strawberry.extensions.validation_cache import _get_validate_cache

from api.app import create_app
from bench.home_answer import HOME_QUERY
from reads import compiler, service
from reads.service import CompiledReads
from schema.limits import CACHE_SIZE
from tests.api.graphql import (
    Account,
    create_contact,
    data,
    log_interaction,
    send_to_both,
    sign_up,
)
from tests.api.read_corpus import (
    BOTH_WAYS,
    CONTACT_INTERACTIONS,
    CORPUS,
    FOLLOW_UP_DRAFT,
    INTERACTION,
    INTERACTIONS,
    LOOKUP,
    ME,
    ORDERS,
    PAGE,
    Operation,
    World,
)
from tests.conftest import cloned_database, libpq_url, make_settings, serve

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
class Apps:
    compiled: httpx.AsyncClient
    resolvers: httpx.AsyncClient
    reads: CompiledReads
    world: World
    statements: list[str]
    # Every statement either app ran, with its parameters (for EXPLAIN).
    executed: list[tuple[str, Any]]
    database_url: str


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
    # Text that scores clearly either way (sentiment is scored as interactions are written).
    for summary, body in (
        ("Wonderful dinner, great fun!", "Loved every minute, so happy."),
        ("Awful, terrible argument.", None),
    ):
        logged = await log_interaction(http, token, [ids[1]], summary=summary, body=body)
        interactions.append(logged["id"])
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
    # Targets (issue 18): one linked to a goal and met by an interaction, one still to meet.
    goal = await data(
        http,
        'mutation($d: Date!) { createGoal(input: {title: "Meet", metric: MEET_TARGETS, '
        "target: 2, period: MONTH, startsOn: $d}) { ... on Goal { id } } }",
        {"d": str(today)},
        token,
    )
    await data(
        http,
        "mutation($id: ID!, $g: ID!) { updateContact(id: $id, input: {isTarget: true, "
        'targetReason: "Runs the “fund”", targetGoalId: $g, researchNotes: "a\\nb"}) '
        "{ __typename } }",
        {"id": ids[2], "g": goal["createGoal"]["id"]},
        token,
    )
    await data(
        http,
        "mutation($id: ID!) { updateContact(id: $id, input: {isTarget: true}) { __typename } }",
        {"id": ids[8]},
        token,
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


async def _collect_cursors(http: httpx.AsyncClient, world: World) -> None:
    """Every forward cursor of the listings the corpus resumes, as the resolvers make them."""
    contacts = "query($o: ContactOrder!) { contacts(first: 100, orderBy: $o) { edges { cursor } } }"
    for order in ORDERS:
        for who, account in (("", world.alice), ("bob:", world.bob)):
            found = await data(http, contacts, {"o": order}, account.token)
            world.cursors[f"{who}contacts:{order}"] = [
                e["cursor"] for e in found["contacts"]["edges"]
            ]
    interactions = "query($c: ID) { interactions(contactId: $c, first: 100) { edges { cursor } } }"
    for key, contact_id in [
        ("interactions", None),
        *((f"interactions:{n}", c) for n, c in enumerate(world.contacts)),
    ]:
        found = await data(http, interactions, {"c": contact_id}, world.alice.token)
        world.cursors[key] = [e["cursor"] for e in found["interactions"]["edges"]]


@pytest.fixture(scope="module")
async def apps(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Apps]:
    tmp: Path = tmp_path_factory.mktemp("compiled")
    async with cloned_database(server_url, template_db) as url:
        # Sessions trusted for a minute: a statement count is not disturbed by a recheck.
        # Thousands of requests a minute as one user: the request limit is tested elsewhere
        # (tests/api/test_rate_limits.py), and a 429 on one side only would be a false diff.
        unlimited = {"request_limit": 1_000_000}
        compiled_app = create_app(
            make_settings(tmp, auth={"session_recheck_seconds": 60}, limits=unlimited),
            database_url=url,
        )
        resolver_app = create_app(
            make_settings(tmp, graphql={"compiled_reads": False}, limits=unlimited),
            database_url=url,
        )
        reads = compiled_app.state.compiled_reads
        statements: list[str] = []

        executed: list[tuple[str, Any]] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
            executed.append((statement, parameters))

        def log_queries(connection: Any, record: Any) -> None:
            # The compiled path talks to asyncpg without SQLAlchemy: count and keep there too.
            def log(query: Any) -> None:
                statements.append(query.query)
                executed.append((query.query, query.args))

            record.driver_connection.add_query_logger(log)

        engine = compiled_app.state.engine
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        event.listen(engine.sync_engine.pool, "connect", log_queries)
        event.listen(resolver_app.state.engine.sync_engine, "before_cursor_execute", keep)
        assert isinstance(reads, CompiledReads)
        assert resolver_app.state.compiled_reads is None
        async with (
            serve(compiled_app) as a,
            serve(resolver_app) as b,
            httpx.AsyncClient(base_url=a, timeout=30) as compiled,
            httpx.AsyncClient(base_url=b, timeout=30) as resolvers,
        ):
            world = await _seed(resolvers)
            await _collect_cursors(resolvers, world)
            yield Apps(compiled, resolvers, reads, world, statements, executed, url)


async def _both(
    apps: Apps,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    compiled: bool,
    operation_name: str | None = None,
) -> dict[str, Any]:
    """Send to both apps; require identical bytes; return the decoded body."""
    request: dict[str, Any] = {"query": query, "variables": variables or {}}
    if operation_name is not None:
        request["operationName"] = operation_name
    token = apps.world.alice.token if token is None else token
    return await send_to_both(
        apps.compiled, apps.resolvers, apps.reads, request, token, compiled=compiled
    )


def test_the_corpus_is_large_and_its_names_unique() -> None:
    assert len(CORPUS) >= 50
    assert len({operation.name for operation in CORPUS}) == len(CORPUS)
    # Both paths are exercised: a corpus that only fell back would prove nothing.
    assert sum(operation.compiles for operation in CORPUS) >= 50


@pytest.mark.parametrize("operation", CORPUS, ids=[operation.name for operation in CORPUS])
async def test_the_corpus_answers_the_same_on_both_paths(apps: Apps, operation: Operation) -> None:
    world = apps.world
    tokens = {
        "alice": world.alice.token,
        "bob": world.bob.token,
        "nobody": "",
        "forged": "not-a-token",
    }
    await _both(
        apps,
        operation.query,
        operation.variables(world),
        token=tokens[operation.user],
        compiled=operation.compiles,
        operation_name=operation.operation_name,
    )


ORDER_INDEXES = {
    "NAME": "ix_contacts_sort_name",
    "NEXT_FOLLOW_UP": "ix_contacts_follow_up",
    "LAST_INTERACTION": "ix_contacts_last_interaction",
    "CREATED": "ix_contacts_created",
}


def _plan_nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", []):
        found += _plan_nodes(child)
    for value in node.values():
        if isinstance(value, dict) and "Node Type" in value:
            found += _plan_nodes(value)
    return found


@pytest.mark.parametrize("order", ORDERS)
async def test_a_deep_page_reads_from_its_cursor_on_both_paths(apps: Apps, order: str) -> None:
    """A cursor bounds the ordering's index scan; it is not a filter over every row before it.

    EXPLAIN each statement either path ran for pages far from the start (after the 10th, and
    before the 4th from the end, backward): every scan of the ordering's index must be bounded
    by an index condition and filter nothing.
    """
    cursors = apps.world.cursors[f"contacts:{order}"]
    query = (
        "query($f: Int, $a: String, $l: Int, $b: String, $o: ContactOrder!) "
        "{ contacts(first: $f, after: $a, last: $l, before: $b, orderBy: $o) { nodes { id } } }"
    )
    pages = [
        {"f": 2, "a": cursors[9], "o": order},
        {"l": 2, "b": cursors[-4], "o": order},
        {"f": 2, "a": cursors[2], "b": cursors[-3], "o": order},
    ]
    scans: list[dict[str, Any]] = []
    connection = await asyncpg.connect(libpq_url(apps.database_url))
    try:
        # The seeded tables are tiny: without this a sequential scan would answer, and say
        # nothing about the index.
        await connection.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        for variables in pages:
            apps.executed.clear()
            await _both(apps, query, variables, compiled=True)
            for statement, parameters in apps.executed:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                [plan] = json.loads(
                    await connection.fetchval(
                        f"EXPLAIN (FORMAT JSON) {statement}", *(parameters or ())
                    )
                )
                scans += [
                    n
                    for n in _plan_nodes(plan["Plan"])
                    if n.get("Index Name") == ORDER_INDEXES[order]
                ]
    finally:
        await connection.close()
    assert len(scans) >= 2 * len(pages)  # both paths read through the ordering's index
    for scan in scans:
        assert "Filter" not in scan, scan
        assert "Index Cond" in scan, scan


async def test_sentiment_compiles_with_every_label(apps: Apps) -> None:
    query = "{ interactions(first: 100) { nodes { sentiment { compound label } } } }"
    body = await _both(apps, query, compiled=True)
    scores = [n["sentiment"] for n in body["data"]["interactions"]["nodes"] if n["sentiment"]]
    assert {s["label"] for s in scores} == {"POSITIVE", "NEUTRAL", "NEGATIVE"}
    # Whole and fractional compounds: "0.0" is where PostgreSQL's text ("0") and orjson part.
    assert any(s["compound"] == 0 for s in scores)
    assert any(0 < abs(s["compound"]) < 1 for s in scores)


@pytest.fixture(scope="module")
async def carol(apps: Apps) -> Account:
    """An account of thousands of contacts and interactions, with fresh statistics."""
    account = await sign_up(apps.resolvers)
    connection = await asyncpg.connect(libpq_url(apps.database_url))
    try:
        await connection.execute(
            "INSERT INTO contacts (owner_id, id, first_name, sort_name, server_version, "
            "next_follow_up_at) SELECT $1::uuid, gen_random_uuid(), 'c' || g, 'c' || g, g, "
            "CASE WHEN g % 2 = 0 THEN now() + g * interval '1 hour' END "
            "FROM generate_series(1, 6000) AS g",
            account.user_id,
        )
        # Three interactions with each of those contacts: the listing shows only interactions
        # with a living contact.
        await connection.execute(
            "WITH c AS (SELECT id, row_number() OVER () AS g FROM contacts WHERE owner_id = $1), "
            "i AS (INSERT INTO interactions (owner_id, id, occurred_at, server_version) "
            "SELECT $1, gen_random_uuid(), now() - (g * 3 + k) * interval '1 hour', g * 3 + k "
            "FROM c, generate_series(0, 2) AS k RETURNING id, occurred_at, server_version AS v) "
            "INSERT INTO interaction_participants (owner_id, interaction_id, contact_id, "
            "occurred_at) SELECT $1, i.id, c.id, i.occurred_at FROM i JOIN c ON c.g = i.v / 3",
            UUID(account.user_id),
        )
        await connection.execute(
            "ANALYZE contacts; ANALYZE interactions; ANALYZE interaction_participants"
        )
    finally:
        await connection.close()
    return account


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (HOME_QUERY, "ix_contacts_follow_up"),
        ("{ interactions(first: 50) { nodes { id } } }", "ix_interactions_occurred"),
    ],
)
async def test_a_generic_plan_reads_one_page_of_the_ordering_index(
    apps: Apps, carol: Account, query: str, index: str
) -> None:
    """asyncpg prepares each statement; from the sixth run PostgreSQL may use a generic plan.

    Planned without the page size, a bound LIMIT is taken as 10 % of the rows, and the plan
    sorted every contact (or interaction) of the owner: a parallel scan, 13 ms (21 ms)
    against 1 ms on 5,000 contacts (15,000 interactions), bench/RESULTS.md. The generic plan
    must plan the walk of the ordering's index for one page at most.
    """
    apps.executed.clear()
    await _both(apps, query, token=carol.token, compiled=True)
    [(statement, parameters)] = [
        (text, values) for text, values in apps.executed if "string_agg" in text
    ]
    connection = await asyncpg.connect(libpq_url(apps.database_url))
    try:
        await connection.execute(
            f"SET plan_cache_mode = force_generic_plan; PREPARE page AS {statement}"
        )
        # EXECUTE takes no bound parameters: each value as a quoted literal, typed by page.
        quote = "SELECT quote_literal($1::text)"
        literals = [await connection.fetchval(quote, str(value)) for value in parameters]
        [plan] = json.loads(
            await connection.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE page({', '.join(literals)})")
        )
    finally:
        await connection.close()
    # Every limit over the walk of the ordering's index is planned as the largest page (101)
    # at most, not as 10 % of the owner's rows.
    walks = [
        n
        for n in _plan_nodes(plan["Plan"])
        if n["Node Type"] == "Limit" and any(m.get("Index Name") == index for m in _plan_nodes(n))
    ]
    assert walks, str(
        [(n["Node Type"], n.get("Index Name"), n["Plan Rows"]) for n in _plan_nodes(plan["Plan"])]
    )
    assert all(n["Plan Rows"] <= 101 for n in walks), [n["Plan Rows"] for n in walks]


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


async def test_a_contacts_interactions_page_through_on_the_compiled_path(apps: Apps) -> None:
    world = apps.world
    for contact_id in [world.contacts[1], world.contacts[3], world.contacts[-3]]:
        seen: list[str] = []
        after = None
        while True:
            variables = {"id": contact_id, "first": 1, "after": after}
            page = await _both(apps, CONTACT_INTERACTIONS, variables, compiled=True)
            found = page["data"]["contact"]["interactions"]
            seen += [edge["node"]["id"] for edge in found["edges"]]
            if not found["pageInfo"]["hasNextPage"]:
                break
            after = found["pageInfo"]["endCursor"]
        assert len(seen) == found["totalCount"] > 0


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


async def test_follow_up_fields_fall_back_to_their_resolvers(apps: Apps) -> None:
    world = apps.world
    found = await _both(apps, FOLLOW_UP_DRAFT, {"i": world.interactions[5]}, compiled=False)
    drafted = found["data"]["followUpDraft"]
    assert drafted["__typename"] == "FollowUpDraft"
    assert len(drafted["contacts"]) == 2
    assert drafted["text"].endswith("Warm wishes,\nAlice 'A' 😀")
    mixed = await _both(
        apps,
        "query($i: ID!) { me { id } followUpDraft(interactionId: $i) { __typename } "
        "contacts(first: 1) { nodes { id } } }",
        {"i": world.deleted_interaction},
        compiled=False,
    )
    assert mixed["data"]["followUpDraft"] == {"__typename": "Deleted"}
    owed = await _both(apps, "{ followUpsOwed(afterDays: 0) { reason } }", compiled=False)
    assert owed["data"] == {"followUpsOwed": []}


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
    # A page size is part of the shape (reads.compiler: Compiler.page_size), the order too.
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
        for n in range(compiler.MAX_GUARDS + 1)
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
    request = {"query": document, "operationName": "Contacts"}
    answer = await send_to_both(
        apps.compiled, apps.resolvers, apps.reads, request, apps.world.alice.token, compiled=True
    )
    assert answer["data"]["contacts"]["totalCount"] == len(NAMES) + 2


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


async def test_a_remembered_text_that_falls_back_runs_its_statement_once(apps: Apps) -> None:
    # Answered by the compiled path once, the text is remembered and answered before Strawberry.
    query = "query Once($c: ID) { interactions(contactId: $c, first: 1) { nodes { id } } }"
    await _both(apps, query, {"c": apps.world.contacts[0]}, compiled=True)
    await _both(apps, query, {"c": apps.world.contacts[0]}, compiled=True)
    # An unknown contact: the statement's EXISTS fails and the resolvers answer. The fast path
    # tried it, so CompileReads must not run the same statement again on the way to them.
    fell_back = apps.reads.fell_back
    apps.statements.clear()
    await _both(apps, query, {"c": "00000000-0000-7000-8000-000000000000"}, compiled=False)
    await asyncio.sleep(0)
    runs = [s for s in apps.statements if "interaction_participants" in s and "$2::uuid" in s]
    assert len(runs) == 1, runs
    assert apps.reads.fell_back == fell_back + 1


async def test_a_refused_token_costs_one_session_lookup_on_a_remembered_text(apps: Apps) -> None:
    query = "query Refused { contacts(first: 1) { nodes { id } } }"
    await _both(apps, query, compiled=True)
    await _both(apps, query, compiled=True)  # remembered
    gone = await sign_up(apps.resolvers)
    await data(apps.resolvers, "mutation { signOut { __typename } }", {}, gone.token)
    apps.statements.clear()
    await _both(apps, query, token=gone.token, compiled=False)
    await asyncio.sleep(0)
    # The fast path, CompileReads and the resolver all ask who the viewer is; the request
    # remembers the refusal, so the session is looked up once.
    assert len([s for s in apps.statements if "auth_sessions" in s]) == 1


async def test_a_connection_the_server_closed_under_a_compiled_statement_is_not_reused(
    server_url: str, template_db: str
) -> None:
    import sqlalchemy as sa

    from reads.plan import Inputs, Plan
    from store.engine import create_engine

    async with cloned_database(server_url, template_db) as url:
        # One pooled connection, so the next checkout draws the same one.
        engine = create_engine(url, pool_size=1, max_overflow=0)
        try:
            # The backend ends mid-statement (FATAL 57P01), as under pg_terminate_backend or
            # a failover: asyncpg raises AdminShutdownError, a PostgresError, and the server
            # has closed the connection.
            killed = Plan(guards=(), sql="SELECT pg_terminate_backend(pg_backend_pid())::text")
            inputs = Inputs(
                variables={}, owner_id=UUID(int=0), now=datetime.now(UTC), max_page_size=1
            )
            with pytest.raises(asyncpg.PostgresError):
                await service._run(engine, killed, inputs)
            async with engine.connect() as conn:
                assert (await conn.execute(sa.text("SELECT 1"))).scalar() == 1
        finally:
            await engine.dispose()
