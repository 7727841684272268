"""Automatic persisted queries over real HTTP, as Apollo's clients speak them (api/persisted.py).

Every test's documents carry a fresh comment, so their hashes are new to the shared server.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from api.app import create_app
from api.persisted import DocumentCache, hash_query
from bench.home_answer import HOME_QUERY
from tests.api.graphql import create_contact, sign_up
from tests.api.test_http import GRAPHQL_RESPONSE, assert_json_error
from tests.conftest import make_settings, serve

ME = "query Me { me { id email } }"
PAGE = "query Page($first: Int!) { contacts(first: $first, orderBy: NAME) { nodes { firstName } } }"


def fresh(query: str) -> str:
    """Return ``query`` with a comment no other test sent, so its hash is unknown."""
    return f"# {uuid.uuid4()}\n{query}"


def persisted(query: str, version: Any = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": hash_query(query)}}


async def send_post(
    http: httpx.AsyncClient,
    token: str,
    query: str,
    *,
    with_text: bool,
    variables: dict[str, Any] | None = None,
    accept: str = "application/json",
) -> httpx.Response:
    body: dict[str, Any] = {"extensions": persisted(query), "variables": variables or {}}
    if with_text:
        body["query"] = query
    headers = {"authorization": f"Bearer {token}", "accept": accept}
    return await http.post("/graphql", json=body, headers=headers)


async def send_get(
    http: httpx.AsyncClient,
    token: str,
    query: str,
    *,
    with_text: bool,
    variables: dict[str, Any] | None = None,
) -> httpx.Response:
    # httpx sends "Accept: */*", as curl does: the playground must not answer it.
    params = {"extensions": json.dumps(persisted(query)), "operationName": _name(query)}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    if with_text:
        params["query"] = query
    return await http.get("/graphql", params=params, headers={"authorization": f"Bearer {token}"})


def _name(query: str) -> str:
    return query.split("query ", 1)[1].split("(")[0].split(" ")[0]


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def ok_data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


async def test_the_three_steps_over_post(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    query = fresh(ME)
    assert_not_found(await send_post(http, account.token, query, with_text=False))
    sent = ok_data(await send_post(http, account.token, query, with_text=True))
    assert sent == {"me": {"id": account.user_id, "email": account.email}}
    assert ok_data(await send_post(http, account.token, query, with_text=False)) == sent


async def test_not_found_is_200_for_the_newer_media_type_too(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    response = await send_post(
        http, account.token, fresh(ME), with_text=False, accept=GRAPHQL_RESPONSE
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_the_three_steps_over_get(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    query = fresh(ME)
    assert_not_found(await send_get(http, account.token, query, with_text=False))
    sent = ok_data(await send_get(http, account.token, query, with_text=True))
    assert sent["me"]["id"] == account.user_id
    assert ok_data(await send_get(http, account.token, query, with_text=False)) == sent


async def test_a_query_stored_over_post_runs_over_get(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    query = fresh(ME)
    sent = ok_data(await send_post(http, account.token, query, with_text=True))
    assert ok_data(await send_get(http, account.token, query, with_text=False)) == sent


async def test_variables_are_the_requests_own(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    for name in ("Ada", "Bea", "Cy"):
        await create_contact(http, account.token, firstName=name)
    query = fresh(PAGE)
    first = ok_data(
        await send_post(http, account.token, query, with_text=True, variables={"first": 1})
    )
    assert first["contacts"]["nodes"] == [{"firstName": "Ada"}]
    for send in (send_post, send_get):
        got = ok_data(
            await send(http, account.token, query, with_text=False, variables={"first": 3})
        )
        assert [n["firstName"] for n in got["contacts"]["nodes"]] == ["Ada", "Bea", "Cy"]


async def test_a_hash_that_does_not_match_is_refused_and_not_stored(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    query = fresh(ME)
    body = {"query": fresh(ME), "extensions": persisted(query)}
    headers = {"authorization": f"Bearer {account.token}"}
    response = await http.post("/graphql", json=body, headers=headers)
    error = assert_json_error(response, 400, "BAD_REQUEST")
    assert error["message"] == "provided sha does not match query"
    assert_not_found(await send_post(http, account.token, query, with_text=False))


async def test_a_query_with_an_unpaired_surrogate_is_refused_not_a_fault(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    # ASCII JSON: the surrogate travels as its \ud800 escape, as JavaScript would write it.
    body = json.dumps(
        {
            "query": "{ me { id } } # \ud800",
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},
        }
    )
    headers = {"authorization": f"Bearer {account.token}", "content-type": "application/json"}
    response = await http.post("/graphql", content=body, headers=headers)
    error = assert_json_error(response, 400, "BAD_REQUEST")
    assert "unpaired surrogate" in error["message"]


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": "0" * 64},
        {"sha256Hash": "0" * 64},
        {"version": "1", "sha256Hash": "0" * 64},
        {"version": True, "sha256Hash": "0" * 64},
        {"version": 1, "sha256Hash": 42},
        "abc",
    ],
    ids=["version-2", "no-version", "string-version", "boolean-version", "number-hash", "string"],
)
async def test_a_malformed_extension_is_a_clear_400(
    http: httpx.AsyncClient, extension: object
) -> None:
    response = await http.post("/graphql", json={"extensions": {"persistedQuery": extension}})
    error = assert_json_error(response, 400, "BAD_REQUEST")
    assert "persisted" in error["message"].lower()


async def test_a_persisted_mutation_still_needs_post(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    mutation = f"# {uuid.uuid4()}\nmutation Touch {{ __typename }}"
    headers = {"authorization": f"Bearer {account.token}"}
    body = {"query": mutation, "extensions": persisted(mutation)}
    stored = await http.post("/graphql", json=body, headers=headers)
    assert stored.json() == {"data": {"__typename": "Mutation"}}
    response = await http.get(
        "/graphql", params={"extensions": json.dumps(persisted(mutation))}, headers=headers
    )
    assert_json_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


async def test_a_document_that_does_not_validate_is_not_stored(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    query = fresh("query Bad { me { noSuchField } }")
    response = await send_post(http, account.token, query, with_text=True)
    assert response.json()["errors"][0]["message"].startswith("Cannot query field")
    assert_not_found(await send_post(http, account.token, query, with_text=False))


async def test_a_persisted_home_query_takes_the_compiled_path(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    account = await sign_up(http)
    await create_contact(http, account.token, firstName="Ada")
    reads = api_app.state.compiled_reads
    query = fresh(HOME_QUERY)
    sent = ok_data(await send_post(http, account.token, query, with_text=True))
    before = reads.compiled
    assert ok_data(await send_get(http, account.token, query, with_text=False)) == sent
    assert ok_data(await send_post(http, account.token, query, with_text=False)) == sent
    assert reads.compiled - before == 2
    assert [e["node"]["displayName"] for e in sent["contacts"]["edges"]] == ["Ada"]


def test_the_store_evicts_the_least_recently_used_by_count() -> None:
    cache = DocumentCache(max_documents=2, max_bytes=10_000)
    cache.put("a", "{ a }")
    cache.put("b", "{ b }")
    assert cache.get("a") == "{ a }"  # now b is the least recently used
    cache.put("c", "{ c }")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("{ a }", None, "{ c }")
    assert len(cache) == 2


def test_the_store_evicts_by_bytes() -> None:
    cache = DocumentCache(max_documents=100, max_bytes=100)
    for key in "abcd":
        cache.put(key, key * 29)  # 30 bytes each with its key
    assert len(cache) == 3
    assert cache.bytes <= 100
    assert cache.get("a") is None
    cache.put("big", "x" * 101)  # larger than the whole store: kept out, nothing evicted
    assert cache.get("big") is None
    assert len(cache) == 3
    cache.put("b", "é" * 40)  # replaced: 80 bytes of UTF-8 (+1) push out c, then d
    assert cache.get("b") == "é" * 40
    assert len(cache) == 1
    assert cache.bytes == 81


async def test_turned_off_they_are_not_supported(api_db: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, graphql={"persisted_queries_max_documents": 0})
    app = create_app(settings, database_url=api_db)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        account = await sign_up(client)
        query = fresh(ME)
        for with_text in (False, True):
            response = await send_post(client, account.token, query, with_text=with_text)
            assert response.status_code == 200, response.text
            [error] = response.json()["errors"]
            assert error["message"] == "PersistedQueryNotSupported"
            assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
        # The query alone still runs.
        assert (await client.post("/graphql", json={"query": "{ __typename }"})).json() == {
            "data": {"__typename": "Query"}
        }
