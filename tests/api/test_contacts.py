"""Contacts, interactions and tags over HTTP, as the mobile app uses them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.api.graphql import Account, create_contact, data, log_interaction, post, sign_up
from tests.conftest import make_settings, serve

CONTACT_FIELDS = """
id firstName lastName displayName company title
emails { label value } phones { label value } urls { label value }
birthday { month day year } workStartedOn howWeMet interests preferredChannel
communicationNotes cadenceDays snoozedUntil stage importance notes
lastInteractionAt nextFollowUpAt introducedBy { id } tags { name }
"""

GET = f"""
query($id: ID!) {{
  contact(id: $id) {{
    __typename
    ... on Contact {{ {CONTACT_FIELDS} }}
    ... on NotFound {{ message entity id }}
    ... on ValidationError {{ message }}
  }}
}}
"""

UPDATE = f"""
mutation($id: ID!, $input: UpdateContactInput!) {{
  updateContact(id: $id, input: $input) {{
    __typename
    ... on Contact {{ {CONTACT_FIELDS} }}
    ... on NotFound {{ message }}
    ... on ValidationError {{ message fields {{ field message }} }}
  }}
}}
"""

DELETE = """
mutation($id: ID!) {
  deleteContact(id: $id) { __typename ... on Deleted { id entity } ... on NotFound { message } }
}
"""
RESTORE = """
mutation($id: ID!) {
  restoreContact(id: $id) { __typename ... on Contact { id } ... on NotFound { message } }
}
"""

LIST = """
query($first: Int, $after: String, $filter: ContactFilter, $orderBy: ContactOrder) {
  contacts(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id displayName company nextFollowUpAt lastInteractionAt } }
  }
}
"""


async def names(http: httpx.AsyncClient, token: str, **variables: Any) -> list[str]:
    result = (await data(http, LIST, variables, token))["contacts"]
    return [edge["node"]["displayName"] for edge in result["edges"]]


async def test_create_and_read_a_contact_with_every_field(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    introducer = await create_contact(http, account.token, firstName="Charles", lastName="Babbage")
    full = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": "Analytical Engines",
        "title": "Programmer",
        "emails": [{"label": "work", "value": "ada@example.com"}],
        "phones": [{"label": "mobile", "value": "+44 20 7946 0018"}],
        "urls": [{"label": "site", "value": "https://ada.example.com/"}],
        "birthday": {"month": 12, "day": 10, "year": 1985},
        "workStartedOn": "2020-02-03",
        "howWeMet": "At a salon",
        "introducedById": introducer["id"],
        "interests": ["mathematics", "poetry"],
        "preferredChannel": "EMAIL",
        "communicationNotes": "Mornings",
        "cadenceDays": 30,
        "stage": "ACTIVE",
        "importance": "VIP",
        "notes": "Long notes " * 100,
    }
    created = await create_contact(http, account.token, **full)
    contact = (await data(http, GET, {"id": created["id"]}, account.token))["contact"]
    assert contact["__typename"] == "Contact"
    for key, value in full.items():
        if key != "introducedById":
            assert contact[key] == value, key
    assert contact["displayName"] == "Ada Lovelace"
    assert contact["introducedBy"] == {"id": introducer["id"]}
    assert contact["nextFollowUpAt"] is not None
    assert contact["lastInteractionAt"] is None


async def test_update_changes_only_the_fields_sent(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    created = await create_contact(http, account.token, company="Acme", title="CTO")
    result = await data(
        http, UPDATE, {"id": created["id"], "input": {"title": "CEO"}}, account.token
    )
    contact = result["updateContact"]
    assert (contact["company"], contact["title"], contact["firstName"]) == ("Acme", "CEO", "Ada")
    cleared = await data(
        http, UPDATE, {"id": created["id"], "input": {"company": None}}, account.token
    )
    assert cleared["updateContact"]["company"] is None
    assert cleared["updateContact"]["title"] == "CEO"


async def test_delete_hides_and_restore_brings_back_with_history(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    created = await create_contact(http, account.token)
    await log_interaction(http, account.token, [created["id"]], summary="Tea")
    deleted = (await data(http, DELETE, {"id": created["id"]}, account.token))["deleteContact"]
    assert deleted == {"__typename": "Deleted", "id": created["id"], "entity": "contact"}
    gone = (await data(http, GET, {"id": created["id"]}, account.token))["contact"]
    assert gone["__typename"] == "NotFound"
    assert await names(http, account.token) == []
    all_interactions = "{ interactions { totalCount nodes { summary } } }"
    assert (await data(http, all_interactions, token=account.token))["interactions"][
        "totalCount"
    ] == 0
    # Deleting again is harmless: a retried request gets the same answer.
    again = (await data(http, DELETE, {"id": created["id"]}, account.token))["deleteContact"]
    assert again["__typename"] == "Deleted"

    restored = (await data(http, RESTORE, {"id": created["id"]}, account.token))["restoreContact"]
    assert restored == {"__typename": "Contact", "id": created["id"]}
    after = (await data(http, all_interactions, token=account.token))["interactions"]
    assert after == {"totalCount": 1, "nodes": [{"summary": "Tea"}]}


async def seed_mixed_contacts(http: httpx.AsyncClient, account: Account) -> list[str]:
    """Seven contacts, some with follow-ups or interactions and some without (NULL sort keys)."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    ids = []
    for n, name in enumerate(["Cleo", "ada", "Bea", "Dan", "Eve", "Finn", "Gus"]):
        contact = await create_contact(
            http, account.token, firstName=name, cadenceDays=(10 + n) if n % 2 else None
        )
        ids.append(contact["id"])
        if n % 3 == 0:
            when = (base + timedelta(days=n)).isoformat()
            await log_interaction(http, account.token, [contact["id"]], occurredAt=when)
    return ids


async def test_contacts_page_through_every_order_without_gaps(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ids = await seed_mixed_contacts(http, account)
    for order in ["NAME", "NEXT_FOLLOW_UP", "LAST_INTERACTION", "CREATED"]:
        seen: list[dict[str, Any]] = []
        after = None
        while True:
            page = await data(
                http, LIST, {"first": 2, "after": after, "orderBy": order}, account.token
            )
            conn = page["contacts"]
            assert conn["totalCount"] == 7
            seen.extend(edge["node"] for edge in conn["edges"])
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        assert sorted(n["id"] for n in seen) == sorted(ids), order
        assert len(seen) == 7
        if order == "NAME":
            assert [n["displayName"] for n in seen] == [
                "ada",
                "Bea",
                "Cleo",
                "Dan",
                "Eve",
                "Finn",
                "Gus",
            ]
        if order == "NEXT_FOLLOW_UP":
            dues = [n["nextFollowUpAt"] for n in seen]
            known = [d for d in dues if d is not None]
            assert known == sorted(known)
            assert dues == known + [None] * (len(dues) - len(known))  # no due date sorts last
        if order == "LAST_INTERACTION":
            lasts = [n["lastInteractionAt"] for n in seen]
            known = [d for d in lasts if d is not None]
            assert known == sorted(known, reverse=True)
            assert lasts[: len(known)] == known


BOTH_WAYS = """
query($first: Int, $after: String, $last: Int, $before: String, $orderBy: ContactOrder) {
  contacts(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}
"""
ORDERS = ["NAME", "NEXT_FOLLOW_UP", "LAST_INTERACTION", "CREATED"]


@pytest.fixture(scope="module")
async def resolvers_url(api_db: str, session_tmp: Path) -> AsyncIterator[str]:
    """The same database served with the compiled read path off."""
    app = create_app(
        make_settings(session_tmp, graphql={"compiled_reads": False}), database_url=api_db
    )
    async with serve(app) as url:
        yield url


@pytest.fixture(params=["compiled", "resolvers"])
async def both_paths(
    request: pytest.FixtureRequest, api_url: str, resolvers_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """Paging runs through each read path: compiled SQL and the resolvers."""
    url = api_url if request.param == "compiled" else resolvers_url
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def page_both_ways(
    http: httpx.AsyncClient, token: str, **variables: Any
) -> tuple[list[str], list[str], dict[str, Any]]:
    """Return a page's ids, its cursors and its pageInfo."""
    conn = (await data(http, BOTH_WAYS, variables, token))["contacts"]
    ids = [edge["node"]["id"] for edge in conn["edges"]]
    return ids, [edge["cursor"] for edge in conn["edges"]], conn["pageInfo"]


@pytest.mark.parametrize("order", ORDERS)
async def test_paging_backward_reproduces_the_forward_order(
    both_paths: httpx.AsyncClient, order: str
) -> None:
    account = await sign_up(both_paths)
    await seed_mixed_contacts(both_paths, account)
    forward, cursors, info = await page_both_ways(
        both_paths, account.token, first=100, orderBy=order
    )
    assert len(forward) == 7
    assert info["hasPreviousPage"] is False  # the first page
    assert info["startCursor"] == cursors[0]
    assert info["endCursor"] == cursors[-1]
    for size in (1, 2, 3, 7, 8):
        seen: list[str] = []
        before = None
        pages = 0
        while True:
            ids, page_cursors, info = await page_both_ways(
                both_paths, account.token, last=size, before=before, orderBy=order
            )
            pages += 1
            seen = ids + seen
            # Cursors are the forward pages' own, so either direction resumes from them.
            assert page_cursors == [cursors[forward.index(i)] for i in ids]
            assert info["hasNextPage"] is (before is not None)
            if ids:
                assert info["startCursor"] == page_cursors[0]
                assert info["endCursor"] == page_cursors[-1]
            if not info["hasPreviousPage"]:
                break
            before = info["startCursor"]
        assert seen == forward, (order, size)
        assert pages == -(-7 // size)


@pytest.mark.parametrize("order", ORDERS)
async def test_forward_cursors_work_as_before_and_bound_both_sides(
    both_paths: httpx.AsyncClient, order: str
) -> None:
    account = await sign_up(both_paths)
    await seed_mixed_contacts(both_paths, account)
    token = account.token
    forward, cursors, _ = await page_both_ways(both_paths, token, first=100, orderBy=order)
    for k, cursor in enumerate(cursors):
        ids, _, info = await page_both_ways(both_paths, token, last=2, before=cursor, orderBy=order)
        assert ids == forward[max(0, k - 2) : k]
        assert info["hasPreviousPage"] is (k > 2)
        assert info["hasNextPage"] is True
    # A forward page after a cursor says there is something before it.
    ids, _, info = await page_both_ways(both_paths, token, first=2, after=cursors[1], orderBy=order)
    assert ids == forward[2:4]
    assert info["hasPreviousPage"] is True
    assert info["startCursor"] == cursors[2]
    # `after` and `before` together: the items strictly between them, from either end.
    both = {"after": cursors[1], "before": cursors[5], "orderBy": order}
    ids, _, info = await page_both_ways(both_paths, token, first=10, **both)
    assert ids == forward[2:5]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (False, True)
    ids, _, info = await page_both_ways(both_paths, token, first=2, **both)
    assert ids == forward[2:4]
    assert info["hasNextPage"] is True
    ids, _, info = await page_both_ways(both_paths, token, last=2, **both)
    assert ids == forward[3:5]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, True)
    ids, _, info = await page_both_ways(both_paths, token, last=0, **both)
    assert ids == []
    assert info["startCursor"] is None
    assert info["endCursor"] is None
    assert info["hasPreviousPage"] is True


@pytest.mark.parametrize(
    ("arguments", "field", "message"),
    [
        ("first: 2, last: 2", "last", "not both at once"),
        ("first: 0, last: 0", "last", "not both at once"),
        ("last: -1", "last", "between 0 and 100"),
        ("last: 101", "last", "between 0 and 100"),
        ('last: 2, before: "bm90IGEgY3Vyc29y"', "before", "does not belong to this list"),
        ('before: "not a cursor"', "before", "does not belong to this list"),
    ],
)
async def test_bad_paging_combinations_are_refused(
    both_paths: httpx.AsyncClient, arguments: str, field: str, message: str
) -> None:
    account = await sign_up(both_paths)
    await create_contact(both_paths, account.token)
    body = await post(
        both_paths, f"{{ contacts({arguments}) {{ totalCount }} }}", token=account.token
    )
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}
    assert message in error["message"]


async def test_a_cursor_from_another_order_is_refused_as_before(
    both_paths: httpx.AsyncClient,
) -> None:
    account = await sign_up(both_paths)
    await create_contact(both_paths, account.token)
    _, cursors, _ = await page_both_ways(both_paths, account.token, first=1, orderBy="NAME")
    body = await post(
        both_paths,
        BOTH_WAYS,
        {"last": 1, "before": cursors[0], "orderBy": "CREATED"},
        token=account.token,
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "before"}


async def test_contact_filters(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    today = datetime.now(UTC).date()
    soon = today + timedelta(days=3)
    far = today + timedelta(days=40)
    await create_contact(
        http,
        account.token,
        firstName="Alan",
        lastName="Turing",
        company="Bletchley",
        title="Cryptanalyst",
        emails=[{"value": "alan@bletchley.example"}],
        stage="CLOSE",
        birthday={"month": soon.month, "day": soon.day},
        cadenceDays=5,
    )
    await create_contact(
        http,
        account.token,
        firstName="Joan",
        lastName="Clarke",
        company="bletchley",
        stage="ACTIVE",
        birthday={"month": far.month, "day": far.day},
    )
    await create_contact(http, account.token, firstName="Grace", company="Navy", cadenceDays=300)

    assert await names(http, account.token, filter={"search": "TURING"}) == ["Alan Turing"]
    assert await names(http, account.token, filter={"search": "bletchley.example"}) == [
        "Alan Turing"
    ]
    assert await names(http, account.token, filter={"search": "crypt"}) == ["Alan Turing"]
    assert await names(http, account.token, filter={"search": "100%_"}) == []
    assert await names(http, account.token, filter={"company": "BLETCHLEY"}) == [
        "Alan Turing",
        "Joan Clarke",
    ]
    assert await names(http, account.token, filter={"stages": ["ACTIVE", "CLOSE"]}) == [
        "Alan Turing",
        "Joan Clarke",
    ]
    due = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    assert await names(http, account.token, filter={"followUpDueBefore": due}) == ["Alan Turing"]
    assert await names(http, account.token, filter={"birthdayWithinDays": 7}) == ["Alan Turing"]
    assert await names(http, account.token, filter={"birthdayWithinDays": 60}) == [
        "Alan Turing",
        "Joan Clarke",
    ]


TAG = """
mutation($name: String!) {
  createTag(input: {name: $name}) { __typename ... on Tag { id name } ... on ValidationError { message } }
}
"""
TAG_CONTACTS = """
mutation($tag: ID!, $ids: [ID!]!) {
  tagContacts(tagId: $tag, contactIds: $ids) { __typename ... on Tag { name } ... on NotFound { message } }
}
"""
UNTAG_CONTACTS = """
mutation($tag: ID!, $ids: [ID!]!) {
  untagContacts(tagId: $tag, contactIds: $ids) { __typename ... on Tag { name } }
}
"""


async def test_tags_name_filter_and_membership(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ada = await create_contact(http, account.token, firstName="Ada")
    bob = await create_contact(http, account.token, firstName="Bob")
    investors = (await data(http, TAG, {"name": "Investors"}, account.token))["createTag"]
    # The same name, spelled differently, is the same tag.
    same = (await data(http, TAG, {"name": "  investors "}, account.token))["createTag"]
    assert same["id"] == investors["id"]
    friends = (await data(http, TAG, {"name": "Friends"}, account.token))["createTag"]

    tagged = await data(
        http, TAG_CONTACTS, {"tag": investors["id"], "ids": [ada["id"], bob["id"]]}, account.token
    )
    assert tagged["tagContacts"] == {"__typename": "Tag", "name": "Investors"}
    await data(http, TAG_CONTACTS, {"tag": friends["id"], "ids": [bob["id"]]}, account.token)
    await data(http, UNTAG_CONTACTS, {"tag": investors["id"], "ids": [bob["id"]]}, account.token)

    assert await names(http, account.token, filter={"tagIds": [investors["id"]]}) == ["Ada"]
    assert await names(
        http, account.token, filter={"tagIds": [investors["id"], friends["id"]]}
    ) == ["Ada", "Bob"]
    contact = (await data(http, GET, {"id": bob["id"]}, account.token))["contact"]
    assert contact["tags"] == [{"name": "Friends"}]

    rename = """mutation($id: ID!, $name: String!) {
      renameTag(id: $id, name: $name) { __typename ... on Tag { name } ... on Conflict { message } } }"""
    clash = await data(http, rename, {"id": friends["id"], "name": "INVESTORS"}, account.token)
    assert clash["renameTag"]["__typename"] == "Conflict"
    ok = await data(http, rename, {"id": friends["id"], "name": "Close friends"}, account.token)
    assert ok["renameTag"] == {"__typename": "Tag", "name": "Close friends"}

    delete = "mutation($id: ID!) { deleteTag(id: $id) { __typename } }"
    await data(http, delete, {"id": investors["id"]}, account.token)
    tags = (await data(http, "{ tags { name } }", token=account.token))["tags"]
    assert tags == [{"name": "Close friends"}]
    assert await names(http, account.token, filter={"tagIds": [investors["id"]]}) == []


INTERACTIONS = """
query($contact: ID!, $first: Int, $after: String) {
  interactions(contactId: $contact, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { summary occurredAt contacts { firstName } }
  }
}
"""


async def test_interactions_with_several_contacts_page_newest_first(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    ada = await create_contact(http, account.token, firstName="Ada", cadenceDays=14)
    bob = await create_contact(http, account.token, firstName="Bob")
    base = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    for n in range(5):
        await log_interaction(
            http,
            account.token,
            [ada["id"], bob["id"]] if n == 4 else [ada["id"]],
            summary=f"Meeting {n}",
            occurredAt=(base + timedelta(days=n)).isoformat(),
            kind="MEETING",
        )
    first = (await data(http, INTERACTIONS, {"contact": ada["id"], "first": 3}, account.token))[
        "interactions"
    ]
    assert first["totalCount"] == 5
    assert [n["summary"] for n in first["nodes"]] == ["Meeting 4", "Meeting 3", "Meeting 2"]
    assert sorted(c["firstName"] for c in first["nodes"][0]["contacts"]) == ["Ada", "Bob"]
    rest = await data(
        http,
        INTERACTIONS,
        {"contact": ada["id"], "first": 3, "after": first["pageInfo"]["endCursor"]},
        account.token,
    )
    assert [n["summary"] for n in rest["interactions"]["nodes"]] == ["Meeting 1", "Meeting 0"]
    assert rest["interactions"]["pageInfo"]["hasNextPage"] is False

    nested = """query($id: ID!) { contact(id: $id) { ... on Contact {
        lastInteractionAt nextFollowUpAt interactions(first: 2) { totalCount nodes { summary } } } } }"""
    contact = (await data(http, nested, {"id": ada["id"]}, account.token))["contact"]
    assert [n["summary"] for n in contact["interactions"]["nodes"]] == ["Meeting 4", "Meeting 3"]
    assert contact["lastInteractionAt"] == (base + timedelta(days=4)).isoformat()
    assert contact["nextFollowUpAt"] == (base + timedelta(days=18)).isoformat()


UPDATE_INTERACTION = """
mutation($id: ID!, $input: UpdateInteractionInput!) {
  updateInteraction(id: $id, input: $input) {
    __typename ... on Interaction { summary body kind occurredAt contacts { firstName } }
    ... on ValidationError { fields { field message } } ... on NotFound { message }
  }
}
"""


async def test_update_and_delete_an_interaction(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ada = await create_contact(http, account.token, firstName="Ada")
    bob = await create_contact(http, account.token, firstName="Bob")
    logged = await log_interaction(http, account.token, [ada["id"]], body="first draft")
    updated = await data(
        http,
        UPDATE_INTERACTION,
        {"id": logged["id"], "input": {"contactIds": [bob["id"]], "kind": "CALL"}},
        account.token,
    )
    result = updated["updateInteraction"]
    assert (result["kind"], result["body"], result["contacts"]) == (
        "CALL",
        "first draft",
        [{"firstName": "Bob"}],
    )
    ada_after = (await data(http, GET, {"id": ada["id"]}, account.token))["contact"]
    assert ada_after["lastInteractionAt"] is None  # it no longer involves Ada

    delete = "mutation($id: ID!) { deleteInteraction(id: $id) { __typename } }"
    assert (await data(http, delete, {"id": logged["id"]}, account.token))["deleteInteraction"][
        "__typename"
    ] == "Deleted"
    gone = await data(
        http, UPDATE_INTERACTION, {"id": logged["id"], "input": {"body": "x"}}, account.token
    )
    assert gone["updateInteraction"]["__typename"] == "NotFound"
    restore = "mutation($id: ID!) { restoreInteraction(id: $id) { __typename ... on Interaction { body } } }"
    back = (await data(http, restore, {"id": logged["id"]}, account.token))["restoreInteraction"]
    assert back == {"__typename": "Interaction", "body": "first draft"}


async def test_logging_against_a_missing_contact_is_not_found_and_writes_nothing(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    ada = await create_contact(http, account.token)
    missing = "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"
    body = await post(
        http,
        """mutation($input: LogInteractionInput!) { logInteraction(input: $input) {
            __typename ... on NotFound { entity id } } }""",
        {"input": {"contactIds": [ada["id"], missing], "summary": "x"}},
        account.token,
    )
    assert body["data"]["logInteraction"] == {
        "__typename": "NotFound",
        "entity": "contact",
        "id": missing,
    }
    count = "{ interactions { totalCount } }"
    assert (await data(http, count, token=account.token))["interactions"]["totalCount"] == 0


@pytest.mark.parametrize("first", [0, 1, 100])
async def test_page_sizes_up_to_one_hundred_are_accepted(
    http: httpx.AsyncClient, first: int
) -> None:
    account = await sign_up(http)
    await create_contact(http, account.token)
    result = (await data(http, LIST, {"first": first}, account.token))["contacts"]
    assert len(result["edges"]) == min(first, 1)
