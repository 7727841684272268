"""Insights over GraphQL: health, reconnect and introduction suggestions, starters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up

HEALTH = """
query($c: ID!, $weeks: Int!) {
  contact(id: $c) {
    ... on Contact {
      health { score bucket factors { name weight score reason } }
      healthHistory(weeks: $weeks) { at score bucket }
    }
  }
}
"""
RECONNECT = """
query($first: Int!) {
  reconnectSuggestions(first: $first) { contact { id } priority overdueDays reasons health { score } }
}
"""
INTRODUCTIONS = """
query($first: Int!) {
  introductionSuggestions(first: $first) { contactA { id } contactB { id } score reasons }
}
"""
INTRODUCE = """
mutation($a: ID!, $b: ID!, $note: String) {
  logIntroduction(contactA: $a, contactB: $b, note: $note) {
    __typename
    ... on Interaction { id kind given contacts { id } }
    ... on ValidationError { fields { field message } }
    ... on NotFound { entity id }
  }
}
"""
STARTERS = """
query($c: ID!, $first: Int!) {
  conversationStarters(contactId: $c, first: $first) {
    __typename
    ... on ConversationStarters { contact { id } starters { text source fact } }
    ... on NotFound { entity }
  }
}
"""


def days_ago(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat()


async def health_of(http: httpx.AsyncClient, account: Account, contact_id: str) -> Any:
    return (await data(http, HEALTH, {"c": contact_id, "weeks": 4}, account.token))["contact"]


async def test_health_names_its_factors_and_moves_with_the_facts(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    lonely = await create_contact(http, account.token, cadenceDays=30)
    friend = await create_contact(http, account.token, cadenceDays=30)
    sour = await create_contact(http, account.token, cadenceDays=30)
    forgotten = await create_contact(http, account.token, cadenceDays=30)
    for days in (3, 25, 50):
        await log_interaction(
            http,
            account.token,
            [friend["id"]],
            summary="Wonderful dinner",
            body="We laughed a lot; a great evening.",
            occurredAt=days_ago(days),
            given="a book" if days == 3 else None,
            received="advice" if days == 25 else None,
        )
        await log_interaction(
            http,
            account.token,
            [sour["id"]],
            summary="Awful call",
            body="He was angry and rude. A terrible argument.",
            occurredAt=days_ago(days),
        )
    await log_interaction(
        http, account.token, [forgotten["id"]], summary="Coffee", occurredAt=days_ago(395)
    )

    none = await health_of(http, account, lonely["id"])
    assert none["health"]["bucket"] == "DORMANT"
    reasons = {f["name"]: f["reason"] for f in none["health"]["factors"]}
    assert reasons["RECENCY"] == "no interactions yet"
    assert abs(sum(f["weight"] for f in none["health"]["factors"]) - 1) < 1e-9
    assert len(none["healthHistory"]) == 5

    good = await health_of(http, account, friend["id"])
    bad = await health_of(http, account, sour["id"])
    old = await health_of(http, account, forgotten["id"])
    assert good["health"]["bucket"] == "THRIVING"
    assert good["health"]["score"] > bad["health"]["score"] > old["health"]["score"]
    sentiment = next(f for f in bad["health"]["factors"] if f["name"] == "SENTIMENT")
    assert "negative" in sentiment["reason"]
    recency = next(f for f in old["health"]["factors"] if f["name"] == "RECENCY")
    assert "365 days past the 30-day cadence" in recency["reason"]
    assert old["health"]["bucket"] in ("AT_RISK", "DORMANT")

    body = await post(http, HEALTH, {"c": friend["id"], "weeks": 1000}, account.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_reconnect_suggestions_skip_snoozed_deleted_and_other_users_contacts(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    vip = await create_contact(http, alice.token, importance="VIP", cadenceDays=30)
    normal = await create_contact(http, alice.token, cadenceDays=30)
    snoozed = await create_contact(
        http,
        alice.token,
        cadenceDays=30,
        snoozedUntil=(datetime.now(UTC) + timedelta(days=10)).date().isoformat(),
    )
    deleted = await create_contact(http, alice.token, cadenceDays=30)
    fresh = await create_contact(http, alice.token, cadenceDays=30)
    for contact in (vip, normal, snoozed, deleted):
        await log_interaction(
            http, alice.token, [contact["id"]], summary="Chat", occurredAt=days_ago(75)
        )
    await log_interaction(http, alice.token, [fresh["id"]], summary="Chat", occurredAt=days_ago(2))
    await data(
        http,
        "mutation($c: ID!) { deleteContact(id: $c) { __typename } }",
        {"c": deleted["id"]},
        alice.token,
    )
    bobs = await create_contact(http, bob.token, cadenceDays=30)
    await log_interaction(http, bob.token, [bobs["id"]], summary="Chat", occurredAt=days_ago(300))

    found = (await data(http, RECONNECT, {"first": 10}, alice.token))["reconnectSuggestions"]
    assert [s["contact"]["id"] for s in found] == [vip["id"], normal["id"]]
    assert "vip importance" in found[0]["reasons"]
    assert "45 days overdue against a 30-day cadence" in found[0]["reasons"]
    assert found[0]["overdueDays"] == 45

    body = await post(http, RECONNECT, {"first": 10000}, alice.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first" in body["errors"][0]["message"]


async def test_introductions_suggest_shared_interests_once_and_only_your_own(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    ann = await create_contact(http, alice.token, firstName="Ann", interests=["Mycology"])
    ben = await create_contact(http, alice.token, firstName="Ben", interests=["mycology"])
    gone = await create_contact(http, alice.token, firstName="Gone", interests=["mycology"])
    await data(
        http,
        "mutation($c: ID!) { deleteContact(id: $c) { __typename } }",
        {"c": gone["id"]},
        alice.token,
    )
    bobs = await create_contact(http, bob.token, firstName="Bo", interests=["mycology"])

    found = (await data(http, INTRODUCTIONS, {"first": 10}, alice.token))["introductionSuggestions"]
    assert [{s["contactA"]["id"], s["contactB"]["id"]} for s in found] == [{ann["id"], ben["id"]}]
    assert "both interested in Mycology" in found[0]["reasons"] or (
        "both interested in mycology" in found[0]["reasons"]
    )

    introduced = (
        await data(http, INTRODUCE, {"a": ann["id"], "b": ben["id"], "note": "Fungi!"}, alice.token)
    )["logIntroduction"]
    assert introduced["kind"] == "INTRODUCTION"
    assert introduced["given"].startswith("An introduction")
    assert {c["id"] for c in introduced["contacts"]} == {ann["id"], ben["id"]}
    after = (await data(http, INTRODUCTIONS, {"first": 10}, alice.token))["introductionSuggestions"]
    assert after == []

    # Bad input is refused and changes nothing.
    count = "{ interactions { totalCount } }"
    before = await data(http, count, token=alice.token)
    itself = (await data(http, INTRODUCE, {"a": ann["id"], "b": ann["id"]}, alice.token))[
        "logIntroduction"
    ]
    assert itself["__typename"] == "ValidationError"
    assert itself["fields"][0]["field"] == "contactB"
    foreign = (await data(http, INTRODUCE, {"a": ann["id"], "b": bobs["id"]}, alice.token))[
        "logIntroduction"
    ]
    assert foreign == {"__typename": "NotFound", "entity": "contact", "id": bobs["id"]}
    assert await data(http, count, token=alice.token) == before
    body = await post(http, INTRODUCTIONS, {"first": 10000}, alice.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_starters_cite_facts_and_never_another_users_data(http: httpx.AsyncClient) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    soon = datetime.now(UTC) + timedelta(days=3)
    grace = await create_contact(
        http,
        alice.token,
        firstName="Grace",
        interests=["compilers"],
        birthday={"month": soon.month, "day": soon.day},
        preferredChannel="EMAIL",
    )
    await log_interaction(
        http,
        alice.token,
        [grace["id"]],
        summary="Lunch about compilers",
        body="I'll send you the COBOL paper.",
        occurredAt=days_ago(20),
    )
    bobs_grace = await create_contact(http, bob.token, firstName="Grace", interests=["sailing"])
    await log_interaction(
        http,
        bob.token,
        [bobs_grace["id"]],
        summary="Secret regatta plans",
        body="Let's follow up on the yacht purchase.",
    )

    result = (await data(http, STARTERS, {"c": grace["id"], "first": 20}, alice.token))[
        "conversationStarters"
    ]
    by_source = {s["source"]: s for s in result["starters"]}
    assert "I'll send you the COBOL paper" in by_source["OPEN_PROMISE"]["text"]
    assert "Lunch about compilers" in by_source["OPEN_PROMISE"]["fact"]
    assert "in 3 days" in by_source["BIRTHDAY"]["text"]
    assert "compilers" in by_source["LAST_TOPICS"]["text"]
    assert by_source["PREFERENCE"]["fact"] == "preferred channel EMAIL"
    every = str(result).casefold()
    assert "regatta" not in every
    assert "yacht" not in every
    assert "sailing" not in every
    again = await data(http, STARTERS, {"c": grace["id"], "first": 20}, alice.token)
    assert again["conversationStarters"] == result

    stolen = await data(http, STARTERS, {"c": grace["id"], "first": 5}, bob.token)
    assert stolen["conversationStarters"] == {"__typename": "NotFound", "entity": "contact"}
    body = await post(http, STARTERS, {"c": grace["id"], "first": 10000}, alice.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_introductions_use_tags_roles_and_goals(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ann = await create_contact(http, account.token, firstName="Ann", title="Co-founder & CEO")
    ben = await create_contact(http, account.token, firstName="Ben", title="Angel investor")
    cyd = await create_contact(http, account.token, firstName="Cyd", company="Acme")
    dee = await create_contact(http, account.token, firstName="Dee", company=" acme ")
    tag = await data(
        http,
        'mutation { createTag(input: {name: "Climate  tech"}) { ... on Tag { id } } }',
        token=account.token,
    )
    await data(
        http,
        "mutation($t: ID!, $c: [ID!]!) { tagContacts(tagId: $t, contactIds: $c) { __typename } }",
        {"t": tag["createTag"]["id"], "c": [ann["id"], cyd["id"], dee["id"]]},
        account.token,
    )
    await data(
        http,
        'mutation($t: ID!) { createGoal(input: {title: "Climate people", metric: MEET_NEW_PEOPLE,'
        ' target: 5, period: MONTH, startsOn: "2026-11-01", tagId: $t}) { __typename } }',
        {"t": tag["createTag"]["id"]},
        account.token,
    )
    found = (await data(http, INTRODUCTIONS, {"first": 10}, account.token))[
        "introductionSuggestions"
    ]
    pairs = {frozenset((s["contactA"]["id"], s["contactB"]["id"])): s for s in found}
    founder_investor = pairs[frozenset((ann["id"], ben["id"]))]
    assert founder_investor["reasons"] == ["complementary roles: a founder and an investor"]
    tagged = pairs[frozenset((ann["id"], cyd["id"]))]
    assert tagged["reasons"] == ["both tagged Climate  tech, which fits your goal “Climate people”"]
    # Colleagues at one company are left out, however the company is spelled.
    assert frozenset((cyd["id"], dee["id"])) not in pairs
