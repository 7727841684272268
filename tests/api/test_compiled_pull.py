"""syncPull through the compiled path answers byte for byte as the resolver does (reads/pull.py).

Two apps share one database: one with RAPPORT_COMPILED_READS on (the default), one with it off.
Every pull goes to both and the response bodies must be identical bytes; the compiled app's
counter says which path answered, so a pull that silently fell back fails too. The account
holds every kind of change a pull delivers: contacts with unicode and nulls, tags, an alias,
memberships, interactions, and, after a first sync, deletes (tombstones) and edits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from api.app import create_app
from reads.service import CompiledReads
from sync.cursor import Position, encode_cursor
from sync.hlc import Hlc
from tests.api.graphql import Account, data, send_to_both, sign_up
from tests.conftest import cloned_database, make_settings, serve

PULL = """
query Pull($client: ID!, $cursor: String, $limit: Int!) {
  syncPull(clientId: $client, schemaVersion: 1, cursor: $cursor, limit: $limit) {
    changes cursor hasMore reset lastMutationId serverHlc
  }
}
"""
PUSH = """
mutation($input: SyncPushInput!) {
  syncPush(input: $input) { lastMutationId results { status reason } }
}
"""


def _id() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    alice: Account
    bob: Account
    phone: str  # Alice's device, which pushed every change
    bob_phone: str
    cursor: str  # the end of a first sync, before the deletes
    pushed: int  # the phone's last mutation id


@dataclass
class Apps:
    compiled: httpx.AsyncClient
    resolvers: httpx.AsyncClient
    reads: CompiledReads
    world: World
    statements: dict[str, list[str]]


class Pusher:
    def __init__(self, http: httpx.AsyncClient, account: Account, client: str) -> None:
        self.http, self.account, self.client = http, account, client
        self.last = 0

    async def push(self, *mutations: tuple[str, dict[str, Any]]) -> None:
        batch = []
        for name, args in mutations:
            self.last += 1
            if "fields" in args:
                args = {**args, "hlc": Hlc(int(time.time() * 1000), self.last, "phone").pack()}
            batch.append({"id": self.last, "name": name, "args": args})
        variables = {"input": {"clientId": self.client, "schemaVersion": 1, "mutations": batch}}
        result = (await data(self.http, PUSH, variables, self.account.token))["syncPush"]
        assert [r["status"] for r in result["results"]] == ["APPLIED"] * len(batch), [
            r["reason"] for r in result["results"]
        ]


async def _pull_all(http: httpx.AsyncClient, token: str, client: str, cursor: str | None) -> str:
    while True:
        variables = {"client": client, "cursor": cursor, "limit": 500}
        page = (await data(http, PULL, variables, token))["syncPull"]
        cursor = page["cursor"]
        if not page["hasMore"]:
            assert cursor is not None
            return cursor


async def _seed(http: httpx.AsyncClient) -> World:
    alice, bob = await sign_up(http), await sign_up(http)
    phone = Pusher(http, alice, f"phone-{uuid.uuid4().hex[:8]}")
    ada, bo, cy, dee, gone = _id(), _id(), _id(), _id(), _id()
    mentors, alias, doomed = _id(), _id(), _id()
    coffee, lunch, call = _id(), _id(), _id()
    await phone.push(
        (
            "contact.put",
            {
                "id": ada,
                "fields": {
                    "firstName": "Zoë 😀",
                    "lastName": 'O"Neil \\ back',
                    "company": "Acme\tTab",
                    "emails": [{"label": "work", "value": "ada@example.com"}],
                    "birthday": {"month": 2, "day": 29},
                    "interests": ["jazz", "chess ♟"],
                    "notes": "Line one\nline two — “quoted”\u2028",
                    "cadenceDays": 14,
                },
            },
        ),
        ("contact.put", {"id": bo, "fields": {"firstName": "Bo"}}),
        ("contact.put", {"id": cy, "fields": {"firstName": "李", "lastName": "小龍"}}),
        ("contact.put", {"id": dee, "fields": {"firstName": "Dee", "company": "Control\x01"}}),
        ("contact.put", {"id": gone, "fields": {"firstName": "Gone before any sync"}}),
        ("contact.delete", {"id": gone}),
        ("tag.put", {"id": mentors, "fields": {"name": "Mentors", "color": "#aabbcc"}}),
        # The same name again: the second id becomes an alias (a tagAlias change).
        ("tag.put", {"id": alias, "fields": {"name": " mentors "}}),
        ("tag.put", {"id": doomed, "fields": {"name": "Doomed ✨"}}),
        ("tag.setMembership", {"tagId": mentors, "contactId": ada, "member": True}),
        ("tag.setMembership", {"tagId": mentors, "contactId": bo, "member": True}),
        ("tag.setMembership", {"tagId": doomed, "contactId": cy, "member": True}),
    )
    for n, (interaction, contacts) in enumerate(
        ((coffee, [ada, bo]), (lunch, [cy]), (call, [dee]))
    ):
        fields = {
            "contactIds": contacts,
            "occurredAt": f"2026-11-2{n}T09:30:00.12345{n}+00:00",
            "summary": f"Meeting {n} “quoted”",
            "body": None if n else "Body\u2028with separators",
            "kind": "MEAL" if n else "CALL",
        }
        await phone.push(("interaction.put", {"id": interaction, "fields": fields}))
    cursor = await _pull_all(http, alice.token, phone.client, None)
    # After the first sync: deletes, an untag, a delete and restore, edits.
    await phone.push(
        ("contact.delete", {"id": bo}),
        ("interaction.delete", {"id": lunch}),
        ("tag.delete", {"id": doomed}),
        ("tag.setMembership", {"tagId": mentors, "contactId": bo, "member": False}),
        ("contact.delete", {"id": dee}),
        ("contact.restore", {"id": dee}),
        ("contact.put", {"id": ada, "fields": {"title": "CTO", "notes": None}}),
    )
    bob_phone = Pusher(http, bob, f"bob-{uuid.uuid4().hex[:8]}")
    await bob_phone.push(("contact.put", {"id": _id(), "fields": {"firstName": "Bob's"}}))
    return World(alice, bob, phone.client, bob_phone.client, cursor, phone.last)


@pytest.fixture(scope="module")
async def apps(
    server_url: str, template_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Apps]:
    tmp: Path = tmp_path_factory.mktemp("compiled-pull")
    async with cloned_database(server_url, template_db) as url:
        # Sessions trusted for a minute: a statement count is not disturbed by a recheck.
        recheck = {"session_recheck_seconds": 60}
        compiled_app = create_app(make_settings(tmp, auth=recheck), database_url=url)
        resolver_app = create_app(
            make_settings(tmp, auth=recheck, graphql={"compiled_reads": False}), database_url=url
        )
        reads = compiled_app.state.compiled_reads
        assert isinstance(reads, CompiledReads)
        assert resolver_app.state.compiled_reads is None
        statements: dict[str, list[str]] = {"compiled": [], "resolvers": []}
        for name, app in (("compiled", compiled_app), ("resolvers", resolver_app)):

            def count(conn: Any, cursor: Any, statement: str, *args: Any, name: str = name) -> None:
                statements[name].append(statement)

            event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
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
    variables: dict[str, Any],
    *,
    compiled: bool,
    token: str | None = None,
) -> dict[str, Any]:
    """Send to both apps; require identical bytes; return the decoded body."""
    token = apps.world.alice.token if token is None else token
    request = {"query": query, "variables": variables}
    return await send_to_both(
        apps.compiled, apps.resolvers, apps.reads, request, token, compiled=compiled
    )


async def _pages(
    apps: Apps, client: str, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str]:
    """Pull every page after ``cursor`` through both paths; return the changes, the cursor."""
    changes: list[dict[str, Any]] = []
    while True:
        variables = {"client": client, "cursor": cursor, "limit": limit}
        page = (await _both(apps, PULL, variables, compiled=True))["data"]["syncPull"]
        assert len(page["changes"]) <= limit
        changes += page["changes"]
        cursor = page["cursor"]
        assert cursor is not None
        if not page["hasMore"]:
            return changes, cursor


@pytest.mark.parametrize("limit", [1, 2, 5, 500])
async def test_a_first_sync_pages_alike(apps: Apps, limit: int) -> None:
    changes, _ = await _pages(apps, f"new-{uuid.uuid4().hex[:8]}", None, limit)
    entities = {c["entity"] for c in changes}
    assert entities == {"contact", "tag", "tagAlias", "contactTag", "interaction"}
    # A first sync leaves out rows deleted before it began, and has none of the later ones'.
    assert not any(c["deleted"] for c in changes)
    names = {c["fields"]["firstName"] for c in changes if c["entity"] == "contact"}
    assert names == {"Zoë 😀", "李", "Dee"}  # Bo and "Gone" were deleted before it began


@pytest.mark.parametrize("limit", [1, 3, 100])
async def test_a_later_pull_brings_the_same_tombstones(apps: Apps, limit: int) -> None:
    changes, cursor = await _pages(apps, apps.world.phone, apps.world.cursor, limit)
    tombstones = {(c["entity"], c["fields"]) for c in changes if c["deleted"]}
    assert tombstones == {
        ("contact", None),
        ("interaction", None),
        ("tag", None),
        ("contactTag", None),
    }
    # Nothing newer: an empty pull, alike too, and it acknowledges the phone's last push.
    variables = {"client": apps.world.phone, "cursor": cursor, "limit": limit}
    empty = (await _both(apps, PULL, variables, compiled=True))["data"]["syncPull"]
    assert (empty["changes"], empty["hasMore"], empty["cursor"]) == ([], False, cursor)
    assert empty["lastMutationId"] == apps.world.pushed


async def test_the_pushing_device_is_acknowledged_on_its_last_page_only(apps: Apps) -> None:
    variables = {"client": apps.world.phone, "cursor": apps.world.cursor, "limit": 2}
    acknowledged = []
    while True:
        page = (await _both(apps, PULL, variables, compiled=True))["data"]["syncPull"]
        acknowledged.append(page["lastMutationId"])
        if not page["hasMore"]:
            break
        variables["cursor"] = page["cursor"]
    assert len(acknowledged) > 1
    assert acknowledged == [None] * (len(acknowledged) - 1) + [apps.world.pushed]


SELECTIONS = [
    # Aliases, __typename, a field twice, another order, a subset.
    """query($c: ID!) { pull: syncPull(clientId: $c, schemaVersion: 1, limit: 3) {
         __typename more: hasMore changes changes cursor kind: __typename serverHlc } }""",
    """query($c: ID!) { syncPull(clientId: $c, schemaVersion: 1) { cursor } }""",
    """query($c: ID!) { syncPull(clientId: $c, schemaVersion: 1, cursor: null, limit: 5000) {
         serverHlc lastMutationId reset hasMore cursor changes } }""",
    # Fragments, named and inline, and the directives.
    """query($c: ID!, $yes: Boolean!) { syncPull(clientId: $c, schemaVersion: 1, limit: 4) {
         ...Page ... on SyncPullResult { reset @skip(if: $yes) }
         serverHlc @include(if: $yes) lastMutationId @include(if: false) } }
       fragment Page on SyncPullResult { changes cursor hasMore }""",
    """query($c: ID!, $yes: Boolean!) { ... on Query { syncPull(clientId: $c, schemaVersion: 1) {
         changes } } x: syncPull(clientId: $c, schemaVersion: 1) @skip(if: $yes) { cursor } }""",
    # An operation name, among several operations.
    """query Other { __typename }
       query Mine($c: ID!) { syncPull(clientId: $c, schemaVersion: 1, limit: 1) { changes } }""",
]


async def test_a_pull_sent_by_get_without_variables_renders_alike(apps: Apps) -> None:
    query = f'{{ syncPull(clientId: "{apps.world.phone}", schemaVersion: 1) {{ changes cursor }} }}'
    headers = {"Authorization": f"Bearer {apps.world.alice.token}"}
    before = apps.reads.compiled
    got = await apps.compiled.get("/graphql", params={"query": query}, headers=headers)
    assert apps.reads.compiled == before + 1
    want = await apps.resolvers.get("/graphql", params={"query": query}, headers=headers)
    assert got.status_code == want.status_code == 200
    assert got.content == want.content
    assert got.json()["data"]["syncPull"]["changes"]


@pytest.mark.parametrize("query", SELECTIONS)
async def test_every_selection_renders_alike(apps: Apps, query: str) -> None:
    variables: dict[str, Any] = {"c": apps.world.phone}
    if "$yes" in query:
        variables["yes"] = True
    if "query Mine" in query:
        request = {"query": query, "variables": variables, "operationName": "Mine"}
        await send_to_both(
            apps.compiled,
            apps.resolvers,
            apps.reads,
            request,
            apps.world.alice.token,
            compiled=True,
        )
        return
    body = await _both(apps, query, variables, compiled=True)
    assert "errors" not in body


def _other_epoch_cursor() -> str:
    return encode_cursor(uuid.uuid4(), Position(1, 99, ()))


async def test_a_cursor_of_another_epoch_resets_alike(apps: Apps) -> None:
    variables = {"client": apps.world.phone, "cursor": _other_epoch_cursor(), "limit": 10}
    page = (await _both(apps, PULL, variables, compiled=True))["data"]["syncPull"]
    assert page == {
        "changes": [],
        "cursor": None,
        "hasMore": False,
        "reset": True,
        "lastMutationId": None,
        "serverHlc": page["serverHlc"],
    }


REFUSED = [
    # (query, variables; "$phone"/"$bob" stand for the clients), each answered by the resolver.
    (PULL, {"client": "$phone", "cursor": None, "limit": 0}),
    (PULL, {"client": "$phone", "cursor": None, "limit": 5001}),
    (PULL, {"client": "", "cursor": None, "limit": 10}),
    (PULL, {"client": "x" * 200, "cursor": None, "limit": 10}),
    (PULL, {"client": "tab\there", "cursor": None, "limit": 10}),
    (PULL, {"client": "$phone", "cursor": "not a cursor", "limit": 10}),
    (PULL, {"client": "$phone", "cursor": "nul\x00", "limit": 10}),
    (PULL, {"client": "$bob", "cursor": None, "limit": 10}),  # another account's device
    (PULL, {"client": "$phone", "cursor": None, "limit": "ten"}),
    (PULL, {"client": "$phone", "cursor": None}),
    ("query($c: ID!) { syncPull(clientId: $c, schemaVersion: 2) { cursor } }", {"c": "$phone"}),
    ("query($c: ID!) { syncPull(clientId: $c, schemaVersion: 0) { reset } }", {"c": "$phone"}),
    # Another root field beside the pull: the resolvers answer the whole operation.
    (
        "query($c: ID!) { me { id } syncPull(clientId: $c, schemaVersion: 1) { cursor } }",
        {"c": "$phone"},
    ),
    (
        "query($c: ID!) { syncPull(clientId: $c, schemaVersion: 1) { cursor } __typename }",
        {"c": "$phone"},
    ),
]


@pytest.mark.parametrize(("query", "variables"), REFUSED)
async def test_refused_pulls_answer_as_the_resolver_does(
    apps: Apps, query: str, variables: dict[str, Any]
) -> None:
    clients = {"$phone": apps.world.phone, "$bob": apps.world.bob_phone}
    variables = {k: clients.get(v, v) if isinstance(v, str) else v for k, v in variables.items()}
    body = await _both(apps, query, variables, compiled=False)
    if "me" not in query and "__typename }" not in query:
        assert body["errors"], body


@pytest.mark.parametrize("token", ["", "not-a-token"])
async def test_without_a_valid_token_the_resolver_answers(apps: Apps, token: str) -> None:
    variables = {"client": apps.world.phone, "cursor": None, "limit": 10}
    body = await _both(apps, PULL, variables, compiled=False, token=token)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_statements_are_the_resolvers_and_an_empty_pull_is_one(apps: Apps) -> None:
    token = apps.world.alice.token
    await _both(apps, PULL, {"client": apps.world.phone, "cursor": None, "limit": 1}, compiled=True)
    cases = [
        {"client": apps.world.phone, "cursor": apps.world.cursor, "limit": 3},  # a page
        {"client": apps.world.phone, "cursor": None, "limit": 5000},  # a first sync's page
    ]
    for variables in cases:
        for name, http in (("compiled", apps.compiled), ("resolvers", apps.resolvers)):
            apps.statements[name].clear()
            await data(http, PULL, variables, token)
        assert len(apps.statements["compiled"]) == len(apps.statements["resolvers"]) == 4
    _, cursor = await _pages(apps, apps.world.phone, apps.world.cursor, 100)
    apps.statements["compiled"].clear()
    empty = await data(
        apps.compiled, PULL, {"client": apps.world.phone, "cursor": cursor, "limit": 100}, token
    )
    assert empty["syncPull"]["changes"] == []
    # The owner's version and the client's row, outside any transaction: nothing else.
    assert len(apps.statements["compiled"]) == 1, apps.statements["compiled"]
