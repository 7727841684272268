"""RAPPORT_LOG_FORMAT=json: what a real session of API calls writes to the log, read back.

Every line is one JSON object with the request's id, operation and hashed owner, and no line
holds a secret the session used: passwords, access and refresh tokens, the push token, note
text or the email address.
"""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.jsonlog import FIELDS, hash_owner
from api.logs import line_formatter
from tests.api.graphql import create_contact, data, log_interaction, sign_up
from tests.api.test_sync_api import PUSH, now_clock, unique


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Every log line of the process while the test runs, at DEBUG, as JSON."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(line_formatter("json"))
    # The test's own HTTP client logs too; only the server's lines are the server's log.
    handler.addFilter(lambda record: not record.name.startswith(("httpx", "httpcore")))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


SIGN_IN = """
mutation($input: SignInInput!) {
  signIn(input: $input) { __typename ... on AuthPayload { accessToken refreshToken } }
}
"""
REFRESH = """
mutation($token: String!) {
  refreshSession(refreshToken: $token) { __typename ... on AuthPayload { accessToken } }
}
"""
CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) { changePassword(input: $input) { __typename } }
"""
REGISTER = """
mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) { __typename } }
"""


async def named(
    http: httpx.AsyncClient, query: str, name: str, variables: dict[str, Any], token: str | None
) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await http.post(
        "/graphql",
        json={
            "query": f"{query.strip().replace('mutation', f'mutation {name}', 1)}",
            "operationName": name,
            "variables": variables,
        },
        headers=headers,
    )
    body: dict[str, Any] = response.json()
    return body


async def test_a_session_logs_json_lines_without_any_of_its_secrets(
    http: httpx.AsyncClient, json_log: io.StringIO
) -> None:
    account = await sign_up(http)
    secrets = [account.email, account.password, account.token, account.refresh_token]
    wrong = "wrong-password-" + uuid.uuid4().hex
    refused = await named(
        http, SIGN_IN, "SignIn", {"input": {"email": account.email, "password": wrong}}, None
    )
    assert refused["data"]["signIn"]["__typename"] == "InvalidCredentials"
    signed_in = (
        await named(
            http,
            SIGN_IN,
            "SignIn",
            {"input": {"email": account.email, "password": account.password}},
            None,
        )
    )["data"]["signIn"]
    token = signed_in["accessToken"]
    refreshed = await named(http, REFRESH, "Refresh", {"token": signed_in["refreshToken"]}, None)
    push_token = "fcm-" + uuid.uuid4().hex * 3
    device = {"token": push_token, "platform": "ANDROID", "locale": "fr-FR"}
    assert "errors" not in await named(http, REGISTER, "Register", {"input": device}, token)
    note = "Confided about the merger, code name Bluebird " + uuid.uuid4().hex
    contact = await create_contact(http, token, firstName="Grace", notes=note)
    await log_interaction(http, token, [contact["id"]], body=note + " (interaction)")
    synced_note = "Pushed offline: " + uuid.uuid4().hex
    mutation = {
        "id": 1,
        "name": "contact.put",
        "args": {
            "id": str(uuid.uuid4()),
            "hlc": now_clock("phone", 1),
            "fields": {"firstName": "Alan", "notes": synced_note},
        },
    }
    pushed = {"input": {"clientId": unique("phone"), "schemaVersion": 1, "mutations": [mutation]}}
    await data(http, PUSH, pushed, token)
    new_password = "new-password-" + uuid.uuid4().hex
    changed = await named(
        http,
        CHANGE_PASSWORD,
        "ChangePassword",
        {"input": {"currentPassword": account.password, "newPassword": new_password}},
        token,
    )
    assert changed["data"]["changePassword"]["__typename"] == "PasswordChanged"
    # A request that fails unexpectedly logs its traceback: with a bad refresh token, too.
    await named(http, REFRESH, "Refresh", {"token": "not-a-token-" + uuid.uuid4().hex}, None)
    secrets += [
        wrong,
        token,
        signed_in["refreshToken"],
        str(refreshed["data"]["refreshSession"].get("accessToken")),
        push_token,
        note,
        synced_note,
        new_password,
    ]

    text = json_log.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines, "the session logged nothing"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line)
        assert set(line) <= {*FIELDS, "exc_info", "stack_info"}
    owner = hash_owner(account.user_id)
    assert any(
        line.get("owner") == owner and line.get("request_id") and line.get("operation")
        for line in lines
    ), lines
    for secret in secrets:
        assert secret not in text
        # Nor its first half, in case a line cut it short.
        assert secret[: len(secret) // 2] not in text
