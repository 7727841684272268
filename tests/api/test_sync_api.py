"""The sync protocol over HTTP and WebSocket, as a phone meets it."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
from websockets.asyncio.client import connect

from sync.hlc import Hlc
from tests.api.graphql import create_contact, data, post, sign_up

PULL = """
query($client: ID!, $cursor: String, $version: Int!) {
  syncPull(clientId: $client, cursor: $cursor, schemaVersion: $version, limit: 100) {
    changes
    cursor hasMore reset lastMutationId serverHlc
  }
}
"""
PUSH = """
mutation($input: SyncPushInput!) {
  syncPush(input: $input) {
    lastMutationId resendFrom serverHlc clockRestamped
    results { id status reason }
  }
}
"""


def unique(name: str) -> str:
    """Client ids are global: tests sharing a database need their own."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def now_clock(node: str, counter: int = 0) -> str:
    return Hlc(int(time.time() * 1000), counter, node).pack()


async def test_a_phone_pushes_offline_edits_and_pulls_them_back(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    phone = unique("phone")
    contact_id, tag_id, interaction_id = (
        "0190c3a4-0000-7000-8000-000000000001",
        "0190c3a4-0000-7000-8000-000000000002",
        "0190c3a4-0000-7000-8000-000000000003",
    )
    mutations = [
        {
            "id": 1,
            "name": "contact.put",
            "args": {
                "id": contact_id,
                "hlc": now_clock("phone", 1),
                "fields": {"firstName": "Ada", "cadenceDays": 30},
            },
        },
        {
            "id": 2,
            "name": "tag.put",
            "args": {"id": tag_id, "hlc": now_clock("phone", 2), "fields": {"name": "Mentors"}},
        },
        {
            "id": 3,
            "name": "tag.setMembership",
            "args": {"tagId": tag_id, "contactId": contact_id, "member": True},
        },
        {
            "id": 4,
            "name": "interaction.put",
            "args": {
                "id": interaction_id,
                "hlc": now_clock("phone", 3),
                "fields": {
                    "contactIds": [contact_id],
                    "occurredAt": "2026-11-20T09:30:00+00:00",
                    "summary": "Coffee",
                    "kind": "MEETING",
                },
            },
        },
    ]
    pushed = (
        await data(
            http,
            PUSH,
            {"input": {"clientId": phone, "schemaVersion": 1, "mutations": mutations}},
            account.token,
        )
    )["syncPush"]
    assert pushed["lastMutationId"] == 4
    assert [r["status"] for r in pushed["results"]] == ["APPLIED"] * 4

    pulled = (
        await data(http, PULL, {"client": phone, "cursor": None, "version": 1}, account.token)
    )["syncPull"]
    assert pulled["lastMutationId"] == 4
    assert pulled["hasMore"] is False
    by_entity = {(c["entity"], c["id"]): c for c in pulled["changes"]}
    contact = by_entity[("contact", contact_id)]
    assert contact["fields"]["firstName"] == "Ada"
    assert contact["derived"]["lastInteractionAt"].startswith("2026-11-20T09:30:00")
    assert by_entity[("interaction", interaction_id)]["fields"]["contactIds"] == [contact_id]
    assert ("contactTag", f"{tag_id}:{contact_id}") in by_entity
    assert pulled["serverHlc"] >= mutations[0]["args"]["hlc"]

    # The same data, online: the GraphQL API and sync are one store.
    read = await data(
        http,
        "query($id: ID!) { contact(id: $id) { ... on Contact { firstName tags { name } interactions { totalCount } } } }",
        {"id": contact_id},
        account.token,
    )
    assert read["contact"] == {
        "firstName": "Ada",
        "tags": [{"name": "Mentors"}],
        "interactions": {"totalCount": 1},
    }


async def test_an_unsupported_schema_version_applies_nothing(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    mutation = {
        "id": 1,
        "name": "contact.put",
        "args": {
            "id": "0190c3a4-0000-7000-8000-00000000000a",
            "hlc": now_clock("old"),
            "fields": {"firstName": "X"},
        },
    }
    body = await post(
        http,
        PUSH,
        {"input": {"clientId": "old-app", "schemaVersion": 0, "mutations": [mutation]}},
        account.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "VERSION_NOT_SUPPORTED"
    assert "Update the app" in body["errors"][0]["message"]
    body = await post(
        http, PULL, {"client": "old-app", "cursor": None, "version": 0}, account.token
    )
    assert body["errors"][0]["extensions"]["code"] == "VERSION_NOT_SUPPORTED"
    assert (await data(http, "{ contacts { totalCount } }", token=account.token))["contacts"][
        "totalCount"
    ] == 0


async def test_bad_pull_arguments_are_explained(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    body = await post(http, PULL, {"client": "p", "cursor": "garbage", "version": 1}, account.token)
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "cursor"}
    body = await post(
        http, PULL, {"client": "x" * 200, "cursor": None, "version": 1}, account.token
    )
    assert body["errors"][0]["extensions"]["field"] == "clientId"


async def test_conflicts_are_listed_and_resolved(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    created = await create_contact(http, account.token, firstName="Ada")
    cid = created["id"]
    base = "001600000000000-00000-web"
    await data(
        http,
        PUSH,
        {
            "input": {
                "clientId": unique("setup"),
                "schemaVersion": 1,
                "mutations": [
                    {
                        "id": 1,
                        "name": "contact.put",
                        "args": {"id": cid, "hlc": base, "fields": {"notes": "v0"}},
                    }
                ],
            }
        },
        account.token,
    )
    for client, minute in (("phone", 1), ("tablet", 2)):
        hlc = Hlc(1_600_000_000_000 + minute * 60_000, 0, client).pack()
        await data(
            http,
            PUSH,
            {
                "input": {
                    "clientId": unique(client),
                    "schemaVersion": 1,
                    "mutations": [
                        {
                            "id": 1,
                            "name": "contact.put",
                            "args": {
                                "id": cid,
                                "hlc": hlc,
                                "fields": {"notes": f"{client} text"},
                                "base": {"notes": base},
                            },
                        }
                    ],
                }
            },
            account.token,
        )
    listed = (
        await data(
            http,
            "{ syncConflicts { totalCount nodes { id entity entityId field losingValue winningValue } } }",
            token=account.token,
        )
    )["syncConflicts"]
    assert listed["totalCount"] == 1
    conflict = listed["nodes"][0]
    assert (
        conflict["entityId"],
        conflict["field"],
        conflict["losingValue"],
        conflict["winningValue"],
    ) == (cid, "notes", "phone text", "tablet text")
    resolve = "mutation($id: ID!) { resolveSyncConflict(id: $id, keep: LOSER) { __typename ... on SyncConflict { id } } }"
    assert (await data(http, resolve, {"id": conflict["id"]}, account.token))[
        "resolveSyncConflict"
    ]["__typename"] == "SyncConflict"
    notes = await data(
        http,
        "query($id: ID!) { contact(id: $id) { ... on Contact { notes } } }",
        {"id": cid},
        account.token,
    )
    assert notes["contact"]["notes"] == "phone text"
    assert (await data(http, "{ syncConflicts { totalCount } }", token=account.token))[
        "syncConflicts"
    ]["totalCount"] == 0
    again = (await data(http, resolve, {"id": conflict["id"]}, account.token))[
        "resolveSyncConflict"
    ]
    assert again["__typename"] == "NotFound"


async def _receive(ws: Any) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    return message


async def test_a_subscriber_is_poked_when_another_client_writes(
    http: httpx.AsyncClient, api_url: str
) -> None:
    account = await sign_up(http)
    tablet = unique("tablet")
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {account.token}"}}
            )
        )
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": f'subscription {{ changes(clientId: "{tablet}") {{ cursor version }} }}'
                    },
                }
            )
        )
        first = await _receive(ws)
        assert first["type"] == "next"
        assert first["payload"]["data"]["changes"] == {"cursor": None, "version": None}

        await create_contact(http, account.token, firstName="Written on the web")
        poke = await _receive(ws)
        assert poke["type"] == "next"
        assert poke["payload"]["data"]["changes"]["version"] >= 1
        cursor = poke["payload"]["data"]["changes"]["cursor"]
        # The poke's cursor is where the feed now stands: pulling from it yields nothing new.
        after = (
            await data(
                http, PULL, {"client": tablet, "cursor": cursor, "version": 1}, account.token
            )
        )["syncPull"]
        assert after["changes"] == []
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_another_users_writes_do_not_poke(http: httpx.AsyncClient, api_url: str) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {alice.token}"}}
            )
        )
        await _receive(ws)
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": f'subscription {{ changes(clientId: "{unique("a")}") {{ version }} }}'
                    },
                }
            )
        )
        await _receive(ws)
        await create_contact(http, bob.token, firstName="Bob's")
        with_timeout = asyncio.wait_for(ws.recv(), 0.5)
        try:
            message = await with_timeout
        except TimeoutError:
            message = None
        assert message is None


async def test_a_subscription_without_a_token_is_refused(api_url: str) -> None:
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        await _receive(ws)
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": f'subscription {{ changes(clientId: "{unique("a")}") {{ version }} }}'
                    },
                }
            )
        )
        message = await _receive(ws)
    # The operation is valid, so it starts; its first and only result is the refusal.
    assert message["type"] == "next"
    assert message["payload"]["data"] is None
    assert message["payload"]["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def _first_poke(api_url: str, token: str, client_id: str) -> dict[str, Any]:
    """Subscribe to changes on ``client_id``; return the first message."""
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert (await _receive(ws))["type"] == "connection_ack"
        query = f'subscription {{ changes(clientId: "{client_id}") {{ version }} }}'
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        return await _receive(ws)


async def test_another_accounts_client_id_is_refused(http: httpx.AsyncClient, api_url: str) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    bobs_phone = unique("phone")  # registered to Bob by its first push
    push = {"clientId": bobs_phone, "schemaVersion": 1, "mutations": []}
    await data(http, PUSH, {"input": push}, bob.token)

    refused = await _first_poke(api_url, alice.token, bobs_phone)
    assert refused["type"] == "next"
    assert refused["payload"]["data"] is None
    [error] = refused["payload"]["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "clientId"}
    assert "another account" in error["message"]
    # The same as syncPull answers Alice.
    pulled = await post(http, PULL, {"client": bobs_phone, "version": 1}, alice.token)
    assert pulled["errors"][0]["extensions"] == error["extensions"]

    welcome = await _first_poke(api_url, bob.token, bobs_phone)
    assert welcome["payload"] == {"data": {"changes": {"version": None}}}


async def test_a_client_id_of_the_wrong_length_is_refused(
    api_url: str, http: httpx.AsyncClient
) -> None:
    account = await sign_up(http)
    for client_id in ("", "x" * 129):
        refused = await _first_poke(api_url, account.token, client_id)
        [error] = refused["payload"]["errors"]
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "clientId"}


async def test_a_devices_own_push_does_not_poke_it_but_another_does(
    http: httpx.AsyncClient, api_url: str
) -> None:
    account = await sign_up(http)
    phone, tablet = unique("phone"), unique("tablet")
    ws_url = api_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {account.token}"}}
            )
        )
        await _receive(ws)
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": f'subscription {{ changes(clientId: "{phone}") {{ version }} }}'
                    },
                }
            )
        )
        await _receive(ws)  # the first poke
        for client, n in ((phone, 1), (tablet, 2)):
            mutation = {
                "id": 1,
                "name": "contact.put",
                "args": {
                    "id": f"0190c3a4-0000-7000-8000-{uuid.uuid4().hex[:12]}",
                    "hlc": now_clock(client[:20], n),
                    "fields": {"firstName": client},
                },
            }
            pushed = await data(
                http,
                PUSH,
                {"input": {"clientId": client, "schemaVersion": 1, "mutations": [mutation]}},
                account.token,
            )
            assert pushed["syncPush"]["results"][0]["status"] == "APPLIED"
        poke = await _receive(ws)
        # Only the tablet's push poked the phone: it was the second of two versions.
        version = poke["payload"]["data"]["changes"]["version"]
        with_timeout = asyncio.wait_for(ws.recv(), 0.5)
        try:
            extra = await with_timeout
        except TimeoutError:
            extra = None
    assert extra is None
    pulled = (
        await data(http, PULL, {"client": phone, "cursor": None, "version": 1}, account.token)
    )["syncPull"]
    assert max(c["serverVersion"] for c in pulled["changes"]) == version


async def test_a_nul_in_a_client_id_is_bad_input_for_push_and_pull(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    client = unique("p") + "\x00"
    body = await post(http, PULL, {"client": client, "cursor": None, "version": 1}, account.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "clientId"
    push = {"clientId": client, "schemaVersion": 1, "mutations": []}
    body = await post(http, PUSH, {"input": push}, account.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"].endswith("clientId")


async def test_a_poisoned_mutation_over_http_is_rejected_and_the_rest_applied(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    contact_id = str(uuid.uuid4())
    mutations = [
        {
            "id": 1,
            "name": "contact.put",
            "args": {"id": contact_id, "hlc": now_clock("phone"), "fields": {"firstName": "Ada"}},
        },
        {"id": 2, "name": "contact.delete", "args": {"id": contact_id, "cl": 2147483648}},
        {"id": 3, "name": "contact.put\u0000", "args": {"id": contact_id}},
        {"id": 4, "name": "contact.delete", "args": {"id": contact_id + "\u0000"}},
        {
            "id": 5,
            "name": "contact.put",
            "args": {"id": contact_id, "hlc": now_clock("phone", 1), "fields": {"title": "Dr"}},
        },
    ]
    push = {"clientId": unique("phone"), "schemaVersion": 1, "mutations": mutations}
    body = await post(http, PUSH, {"input": push}, account.token)
    assert "errors" not in body, body
    results = body["data"]["syncPush"]["results"]
    assert [r["status"] for r in results] == ["APPLIED"] + ["REJECTED"] * 3 + ["APPLIED"]
    assert "\x00" not in "".join(r["reason"] for r in results[1:4])
    assert body["data"]["syncPush"]["lastMutationId"] == 5
