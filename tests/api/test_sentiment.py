"""Interaction sentiment on the write path: scored, rescored, pulled, and erased on request."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from store import tables
from tests.api.graphql import Account, create_contact, data, log_interaction, sign_up
from tests.api.test_sync_api import PULL, PUSH, now_clock, unique

READ = (
    "query($i: ID!) { interaction(id: $i) { ... on Interaction { sentiment { compound label } } } }"
)
UPDATE = """
mutation($i: ID!, $input: UpdateInteractionInput!) {
  updateInteraction(id: $i, input: $input) {
    ... on Interaction { sentiment { compound label } }
  }
}
"""
SWITCH = "mutation($on: Boolean!) { updateMe(input: {sentimentEnabled: $on}) { ... on User { sentimentEnabled } } }"


async def sentiment_of(http: httpx.AsyncClient, account: Account, interaction_id: str) -> Any:
    return (await data(http, READ, {"i": interaction_id}, account.token))["interaction"][
        "sentiment"
    ]


async def stored_scores(api_app: Starlette, owner: str) -> list[float | None]:
    i = tables.interactions.c
    async with api_app.state.engine.connect() as conn:
        rows = await conn.scalars(sa.select(i.sentiment).where(i.owner_id == uuid.UUID(owner)))
        return list(rows.all())


async def pulled_interactions(http: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    body = await data(
        http, PULL, {"client": unique("reader"), "cursor": None, "version": 1}, account.token
    )
    changes = [json.loads(c) if isinstance(c, str) else c for c in body["syncPull"]["changes"]]
    return [c for c in changes if c["entity"] == "interaction"]


async def test_interactions_are_scored_and_rescored_when_their_text_changes(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    contact = await create_contact(http, account.token)
    happy = await log_interaction(
        http, account.token, [contact["id"]], summary="Great lunch", body="She loved the idea."
    )
    scored = await sentiment_of(http, account, happy["id"])
    assert scored["label"] == "POSITIVE"
    assert scored["compound"] > 0.5

    changed = await data(
        http,
        UPDATE,
        {"i": happy["id"], "input": {"body": "It was a terrible, awful mess."}},
        account.token,
    )
    assert changed["updateInteraction"]["sentiment"]["label"] == "NEGATIVE"

    # A change to other fields leaves the score as it is.
    kept = await data(http, UPDATE, {"i": happy["id"], "input": {"kind": "CALL"}}, account.token)
    assert kept["updateInteraction"]["sentiment"] == changed["updateInteraction"]["sentiment"]

    blank = await log_interaction(http, account.token, [contact["id"]], summary="")
    assert await sentiment_of(http, account, blank["id"]) is None


async def test_pushed_interactions_are_scored_single_and_batched(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    contact = await create_contact(http, account.token)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    texts = ["What a wonderful, happy evening!", "Awful, sad news.", "We met at ten."]
    mutations = [
        {
            "id": n + 1,
            "name": "interaction.put",
            "args": {
                "id": ids[n],
                "hlc": now_clock("phone", n),
                "fields": {
                    "contactIds": [contact["id"]],
                    "occurredAt": "2026-11-20T09:30:00+00:00",
                    "summary": texts[n],
                },
            },
        }
        for n in range(3)
    ]
    # An edit in the same push, after the batch: the single put path.
    mutations.append(
        {
            "id": 4,
            "name": "interaction.put",
            "args": {
                "id": ids[2],
                "hlc": now_clock("phone", 9),
                "fields": {"body": "Sadly it was a disaster."},
            },
        }
    )
    pushed = await data(
        http,
        PUSH,
        {"input": {"clientId": unique("phone"), "schemaVersion": 1, "mutations": mutations}},
        account.token,
    )
    assert {r["status"] for r in pushed["syncPush"]["results"]} == {"APPLIED"}
    labels = [(await sentiment_of(http, account, i))["label"] for i in ids]
    assert labels == ["POSITIVE", "NEGATIVE", "NEGATIVE"]

    pulled = {c["id"]: c for c in await pulled_interactions(http, account)}
    assert pulled[ids[0]]["derived"]["sentiment"] > 0.5
    assert "sentiment" not in pulled[ids[0]]["fields"]


async def test_turning_sentiment_off_erases_scores_and_stops_scoring(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    account = await sign_up(http)
    contact = await create_contact(http, account.token)
    first = await log_interaction(http, account.token, [contact["id"]], summary="Lovely chat!")
    assert await stored_scores(api_app, account.user_id) != [None]

    off = await data(http, SWITCH, {"on": False}, account.token)
    assert off["updateMe"]["sentimentEnabled"] is False
    assert await stored_scores(api_app, account.user_id) == [None]
    assert await sentiment_of(http, account, first["id"]) is None
    pulled = await pulled_interactions(http, account)
    assert [c["derived"]["sentiment"] for c in pulled] == [None]

    second = await log_interaction(http, account.token, [contact["id"]], summary="Fantastic!")
    await data(http, UPDATE, {"i": first["id"], "input": {"body": "Wonderful."}}, account.token)
    assert await stored_scores(api_app, account.user_id) == [None, None]
    assert await sentiment_of(http, account, second["id"]) is None

    # Back on: the recent interactions are scored again.
    await data(http, SWITCH, {"on": True}, account.token)
    assert (await sentiment_of(http, account, second["id"]))["label"] == "POSITIVE"
