"""The HTTP contract of /graphql: media types, status codes, JSON errors and the size limit.

The graphql-http audit checks the same in `make e2e`; these run without Node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from api.refusal import EXCEPTION_HANDLERS
from api.settings import Settings
from tests.conftest import make_settings, serve

GRAPHQL_RESPONSE = "application/graphql-response+json"
LIMIT = 4096


@pytest.fixture(scope="module")
async def small_url(api_db: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """A server with a 4 KiB limit and its playground off."""
    settings = make_settings(
        tmp_path_factory.mktemp("small"),
        limits={"max_body_bytes": LIMIT},
        graphql={"playground": False},
    )
    async with serve(create_app(settings, database_url=api_db)) as url:
        yield url


def assert_json_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Check a refusal's status and GraphQL-shaped JSON body; return its one error."""
    assert response.status_code == status, response.text
    media_type = response.headers["content-type"]
    assert media_type in (f"{m}; charset=utf-8" for m in ("application/json", GRAPHQL_RESPONSE))
    body = response.json()
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["message"]
    result: dict[str, Any] = error
    return result


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "body",
    [
        b"42",
        b'"{ me { id } }"',
        b"null",
        b"true",
        b"",
        b'{"query": "{ me { id } }"',
        b'{"query": "\xff\xfe{ me { id } }"}',
        random.Random(14).randbytes(100_000),
        nested(3_000),
        b'{"query": "{ __typename }", "operationName": 42}',
        b'{"query": "{ __typename }", "variables": [1]}',
        b'[{"query": "{ __typename }"}]',
        b'{"operationName": "Me"}',
    ],
    ids=[
        "number",
        "string",
        "null",
        "boolean",
        "empty",
        "truncated",
        "invalid-utf8",
        "random-bytes",
        "nested-3000",
        "operation-name-number",
        "variables-list",
        "batch",
        "no-query",
    ],
)
async def test_a_body_that_is_no_graphql_request_gets_400_in_json(
    http: httpx.AsyncClient, body: bytes
) -> None:
    for accept in ("application/json", GRAPHQL_RESPONSE):
        response = await http.post(
            "/graphql", content=body, headers={"content-type": "application/json", "accept": accept}
        )
        assert_json_error(response, 400, "BAD_REQUEST")
        assert response.headers["content-type"] == f"{accept}; charset=utf-8"


PARSE_FAILURE = {"query": "{"}
VALIDATION_FAILURE = {"query": "{ noSuchField }"}
COERCION_FAILURE = {"query": "query($n: Int!) { __typename }", "variables": {"n": "many"}}
UNKNOWN_OPERATION = {"query": "query A { __typename }", "operationName": "B"}
NO_OPERATION = {"query": "fragment F on Query { __typename }"}


@pytest.mark.parametrize(
    "request_body",
    [PARSE_FAILURE, VALIDATION_FAILURE, COERCION_FAILURE, UNKNOWN_OPERATION, NO_OPERATION],
    ids=["parse", "validation", "coercion", "unknown-operation", "no-operation"],
)
async def test_a_request_that_cannot_run_is_400_without_data_when_graphql_response_is_accepted(
    http: httpx.AsyncClient, request_body: dict[str, Any]
) -> None:
    response = await http.post("/graphql", json=request_body, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["message"]

    # application/json, */* or no Accept at all: the older answer, 200 with data null.
    for accept in ("application/json", "*/*", None):
        headers = {"accept": accept} if accept else {}
        legacy = await http.post("/graphql", json=request_body, headers=headers)
        assert legacy.status_code == 200, legacy.text
        assert legacy.headers["content-type"] == "application/json; charset=utf-8"
        assert legacy.json()["data"] is None
        assert legacy.json()["errors"] == body["errors"]


async def test_an_unknown_operation_name_is_said_in_json(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json=UNKNOWN_OPERATION)
    [error] = response.json()["errors"]
    assert error == {
        "message": 'The document has no operation named "B".',
        "extensions": {"code": "BAD_REQUEST"},
    }


async def test_a_request_that_ran_answers_200_in_either_media_type(
    http: httpx.AsyncClient,
) -> None:
    for accept, media_type in [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        # Apollo Client 4's header
        (f"{GRAPHQL_RESPONSE},application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        (f"{GRAPHQL_RESPONSE};q=0, */*", "application/json"),
        ("text/html, */*;q=0.8", "application/json"),
    ]:
        ok = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"accept": accept}
        )
        assert ok.status_code == 200
        assert ok.headers["content-type"] == f"{media_type}; charset=utf-8", accept
        assert ok.json() == {"data": {"__typename": "Query"}}

    # A field's error is not a request error: data is there (null), and so is 200.
    field_error = await http.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert field_error.status_code == 200
    body = field_error.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_query_over_get_follows_the_same_rules(http: httpx.AsyncClient) -> None:
    ok = await http.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert ok.json() == {"data": {"__typename": "Query"}}
    bad = await http.get(
        "/graphql", params=VALIDATION_FAILURE, headers={"accept": GRAPHQL_RESPONSE}
    )
    assert bad.status_code == 400
    assert "data" not in bad.json()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
async def test_other_methods_get_405_in_json(http: httpx.AsyncClient, method: str) -> None:
    response = await http.request(method, "/graphql")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    if method != "HEAD":
        assert_json_error(response, 405, "METHOD_NOT_ALLOWED")


async def test_a_mutation_over_get_is_405_and_names_post(http: httpx.AsyncClient) -> None:
    response = await http.get("/graphql", params={"query": "mutation { signOut }"})
    assert_json_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


async def test_a_subscription_over_http_is_sent_to_the_websocket(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/graphql", json={"query": 'subscription { changes(clientId: "x") { version } }'}
    )
    error = assert_json_error(response, 400, "BAD_REQUEST")
    assert "WebSocket" in error["message"]


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
async def test_a_body_that_is_not_utf8_json_is_415_in_json(
    http: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await http.post("/graphql", content=b'{"query": "{ __typename }"}', headers=headers)
    error = assert_json_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "application/json" in error["message"]


async def test_paths_and_pages_that_name_nothing_are_404_in_json(
    http: httpx.AsyncClient, small_url: str
) -> None:
    assert_json_error(await http.get("/no-such-page"), 404, "NOT_FOUND")
    assert_json_error(await http.post("/healthz"), 405, "METHOD_NOT_ALLOWED")
    async with httpx.AsyncClient(base_url=small_url) as client:
        # The playground is off: a browser's GET of /graphql finds nothing.
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert_json_error(page, 404, "NOT_FOUND")


async def test_a_fault_outside_graphql_is_500_in_json() -> None:
    async def broken(request: Request) -> Response:
        raise RuntimeError("a bug")

    app = Starlette(routes=[Route("/broken", broken)], exception_handlers=EXCEPTION_HANDLERS)
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        response = await client.get("/broken")
    error = assert_json_error(response, 500, "INTERNAL_SERVER_ERROR")
    assert "a bug" not in error["message"]


async def exchange(
    base_url: str, head: str, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes of HTTP/1.1 and read one response, so the body can stay unsent."""
    url = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        # A guard against a server that waits for the rest of the body, not a timing check.
        status_line, *lines = (
            (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)).decode().split("\r\n")
        )
        headers = dict(line.lower().split(": ", 1) for line in lines if line)
        content = await reader.readexactly(int(headers["content-length"]))
        return int(status_line.split()[1]), headers, content
    finally:
        # Closed before the test's event loop ends: close() alone leaves the socket to a loop
        # callback that a closing loop may never run, and the socket leaks to the collector.
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_body_over_the_limit_is_refused_before_it_is_read(api_url: str) -> None:
    # 10 MB announced, none of it sent: the answer comes at once, from Content-Length alone.
    status, headers, content = await exchange(
        api_url,
        "POST /graphql HTTP/1.1\nHost: rapport\nContent-Type: application/json\n"
        "Content-Length: 10000000\n",
    )
    assert status == 413
    assert headers["content-type"] == "application/json; charset=utf-8"
    [error] = json.loads(content)["errors"]
    assert error["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}
    assert "1,048,576 bytes" in error["message"]


async def test_a_chunked_body_is_refused_once_it_passes_the_limit(small_url: str) -> None:
    # The limit plus one byte in chunks, and the body never finished: counted as it streams.
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in [b" " * 1000] * 4 + [b" " * 97]
    )
    status, _, content = await exchange(
        small_url,
        "POST /graphql HTTP/1.1\nHost: rapport\nContent-Type: application/json\n"
        "Transfer-Encoding: chunked\n",
        chunks,
    )
    assert status == 413
    assert json.loads(content)["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_a_body_at_the_limit_is_served(small_url: str) -> None:
    query = b'{"query": "{ __typename }"}'
    body = query[:-1] + b" " * (LIMIT - len(query)) + b"}"
    assert len(body) == LIMIT
    async with httpx.AsyncClient(base_url=small_url) as client:
        response = await client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        assert response.json() == {"data": {"__typename": "Query"}}
        over = await client.post(
            "/graphql", content=body + b" ", headers={"content-type": "application/json"}
        )
    assert_json_error(over, 413, "PAYLOAD_TOO_LARGE")


async def test_a_query_string_over_the_limit_is_414(small_url: str) -> None:
    padding = " " * LIMIT
    async with httpx.AsyncClient(base_url=small_url) as client:
        response = await client.get("/graphql", params={"query": "{ __typename }" + padding})
    error = assert_json_error(response, 414, "URI_TOO_LONG")
    assert "POST" in error["message"]


async def test_a_websocket_message_over_the_limit_closes_the_connection(small_url: str) -> None:
    ws_url = small_url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        query = 'subscription { changes(clientId: "x") { version } }' + " " * LIMIT
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


def test_the_limit_is_configured_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_MAX_BODY_BYTES", "65536")
    assert Settings().limits.max_body_bytes == 65536
    monkeypatch.delenv("RAPPORT_MAX_BODY_BYTES")
    assert Settings().limits.max_body_bytes == 1024 * 1024
