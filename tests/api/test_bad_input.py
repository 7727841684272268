"""Bad input gets a typed error that says what to fix, and nothing is written."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.graphql import CREATE_CONTACT, create_contact, data, post, sign_up

COUNT = "{ contacts { totalCount } }"


@pytest.mark.parametrize(
    ("values", "field", "hint"),
    [
        ({"emails": [{"value": "ada(at)example.com"}]}, "emails.0.value", "email"),
        ({"firstName": ""}, "firstName", "must not be empty"),
        ({"firstName": "x" * 10_000}, "firstName", "at most 200"),
        ({"lastName": "y" * 10_000}, "lastName", "at most 200"),
        ({"birthday": {"month": 2, "day": 30}}, "birthday", "February has 29 days"),
        ({"birthday": {"month": 13, "day": 1}}, "birthday.month", "less than or equal to 12"),
        ({"cadenceDays": -3}, "cadenceDays", "greater than or equal to 1"),
        ({"introducedById": "42"}, "introducedById", "UUID"),
        ({"urls": [{"value": "not a url"}]}, "urls.0.value", "URL"),
        ({"phones": [{"value": "call me"}]}, "phones.0.value", "pattern"),
    ],
)
async def test_create_contact_refuses_bad_fields_and_writes_nothing(
    http: httpx.AsyncClient, values: dict[str, Any], field: str, hint: str
) -> None:
    account = await sign_up(http)
    result = await data(
        http, CREATE_CONTACT, {"input": {"firstName": "Ada", **values}}, account.token
    )
    error = result["createContact"]
    assert error["__typename"] == "ValidationError"
    messages = {f["field"]: f["message"] for f in error["fields"]}
    assert field in messages, messages
    assert hint.lower() in messages[field].lower()
    assert field in error["message"]
    assert (await data(http, COUNT, token=account.token))["contacts"]["totalCount"] == 0


async def test_a_bad_update_leaves_the_contact_as_it_was(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    created = await create_contact(http, account.token, company="Acme", cadenceDays=30)
    update = """mutation($id: ID!, $input: UpdateContactInput!) { updateContact(id: $id, input: $input) {
        __typename ... on ValidationError { fields { field } } } }"""
    # One good field and one bad: the good one must not be applied either.
    bad = {"company": "Changed", "cadenceDays": 0}
    result = await data(http, update, {"id": created["id"], "input": bad}, account.token)
    assert result["updateContact"] == {
        "__typename": "ValidationError",
        "fields": [{"field": "cadenceDays"}],
    }
    read = """query($id: ID!) { contact(id: $id) { ... on Contact { company cadenceDays } } }"""
    contact = (await data(http, read, {"id": created["id"]}, account.token))["contact"]
    assert contact == {"company": "Acme", "cadenceDays": 30}


@pytest.mark.parametrize(
    ("operation", "variables"),
    [
        (
            "query($id: ID!) { contact(id: $id) { __typename ... on ValidationError { fields { field message } } } }",
            {},
        ),
        (
            'mutation($id: ID!) { updateContact(id: $id, input: {company: "x"}) { __typename '
            "... on ValidationError { fields { field message } } } }",
            {},
        ),
        (
            "mutation($id: ID!) { deleteContact(id: $id) { __typename ... on ValidationError { fields { field message } } } }",
            {},
        ),
        (
            "mutation($id: ID!) { restoreContact(id: $id) { __typename ... on ValidationError { fields { field message } } } }",
            {},
        ),
        (
            "mutation($id: ID!) { deleteTag(id: $id) { __typename ... on ValidationError { fields { field message } } } }",
            {},
        ),
        (
            "query($id: ID!) { interaction(id: $id) { __typename ... on ValidationError { fields { field message } } } }",
            {},
        ),
    ],
)
async def test_ids_of_the_wrong_shape_are_explained(
    http: httpx.AsyncClient, operation: str, variables: dict[str, Any]
) -> None:
    account = await sign_up(http)
    result = await data(http, operation, {"id": "contact-42", **variables}, account.token)
    payload = next(iter(result.values()))
    assert payload["__typename"] == "ValidationError"
    assert payload["fields"][0]["field"] == "id"
    assert "is not an id; ids are UUIDs like" in payload["fields"][0]["message"]


async def test_a_page_of_ten_thousand_is_refused_with_the_limit(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    body = await post(http, "{ contacts(first: 10000) { totalCount } }", token=account.token)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    assert "between 0 and 100" in error["message"]
    body = await post(http, "{ contacts(first: -1) { totalCount } }", token=account.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_foreign_cursor_is_refused(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    body = await post(
        http, '{ contacts(after: "bm90IGEgY3Vyc29y") { totalCount } }', token=account.token
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_birthday_window_out_of_range(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    body = await post(
        http, "{ contacts(filter: {birthdayWithinDays: 400}) { totalCount } }", token=account.token
    )
    assert body["errors"][0]["extensions"]["field"] == "filter.birthdayWithinDays"


async def test_tagging_with_one_unknown_contact_tags_nobody(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    ada = await create_contact(http, account.token)
    tag = await data(
        http,
        'mutation { createTag(input: {name: "VIP"}) { ... on Tag { id } } }',
        token=account.token,
    )
    tag_id = tag["createTag"]["id"]
    missing = "0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"
    result = await data(
        http,
        """mutation($t: ID!, $ids: [ID!]!) { tagContacts(tagId: $t, contactIds: $ids) {
            __typename ... on NotFound { id } } }""",
        {"t": tag_id, "ids": [ada["id"], missing]},
        account.token,
    )
    assert result["tagContacts"] == {"__typename": "NotFound", "id": missing}
    tagged = await data(
        http,
        "query($t: [ID!]) { contacts(filter: {tagIds: $t}) { totalCount } }",
        {"t": [tag_id]},
        account.token,
    )
    assert tagged["contacts"]["totalCount"] == 0


async def test_too_many_contacts_in_one_tagging(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    tag = await data(
        http,
        'mutation { createTag(input: {name: "Many"}) { ... on Tag { id } } }',
        token=account.token,
    )
    ids = ["0190c3a4-7b1e-7c2d-9f00-1a2b3c4d5e6f"] * 101
    result = await data(
        http,
        """mutation($t: ID!, $ids: [ID!]!) { tagContacts(tagId: $t, contactIds: $ids) {
            __typename ... on ValidationError { fields { field message } } } }""",
        {"t": tag["createTag"]["id"], "ids": ids},
        account.token,
    )
    assert result["tagContacts"]["fields"] == [
        {"field": "contactIds", "message": "send 1 to 100 contact ids, not 101"}
    ]


async def test_a_malformed_request_gets_a_graphql_error(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    body = await post(http, "{ contacts { nope } }", token=account.token)
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]
