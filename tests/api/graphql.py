"""A small GraphQL-over-HTTP client for the API tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.api.mailbox import MAILBOX


async def post(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL operation; return the whole response body."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    response = await http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def data(
    http: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """POST an operation that must succeed; return its data."""
    body = await post(http, query, variables, token)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


SIGN_UP = """
mutation($input: SignUpInput!) {
  signUp(input: $input) {
    __typename
    ... on AuthPayload {
      accessToken refreshToken expiresAt user { id email emailVerified timeZone }
    }
    ... on ValidationError { message fields { field message } }
    ... on Conflict { message }
  }
}
"""


@dataclass
class Account:
    email: str
    password: str
    token: str
    refresh_token: str
    user_id: str


CONFIRM_EMAIL = """
mutation($t: String!) {
  confirmEmail(token: $t) {
    __typename
    ... on EmailConfirmed { email }
    ... on InvalidCredentials { message }
    ... on RateLimited { message retryAfter }
  }
}
"""


async def confirm_email(http: httpx.AsyncClient, token: str) -> dict[str, Any]:
    result: dict[str, Any] = (await data(http, CONFIRM_EMAIL, {"t": token}))["confirmEmail"]
    return result


async def verify_email(http: httpx.AsyncClient, who: Account) -> None:
    """Confirm ``who``'s email with the link the shared app mailed at sign-up (MAILBOX)."""
    token = await MAILBOX.link_token(who.email, "verify-email")
    confirmed = await confirm_email(http, token)
    assert confirmed == {"__typename": "EmailConfirmed", "email": who.email}, confirmed


async def sign_up(
    http: httpx.AsyncClient,
    *,
    time_zone: str = "UTC",
    verified: bool = False,
    email: str | None = None,
) -> Account:
    """Sign up a new account; ``verified``: confirm its email too (the shared app only)."""
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    password = "correct horse battery staple"
    result = (
        await data(
            http,
            SIGN_UP,
            {"input": {"email": email, "password": password, "timeZone": time_zone}},
        )
    )["signUp"]
    assert result["__typename"] == "AuthPayload", result
    account = Account(
        email, password, result["accessToken"], result["refreshToken"], result["user"]["id"]
    )
    if verified:
        await verify_email(http, account)
    return account


CREATE_CONTACT = """
mutation($input: CreateContactInput!) {
  createContact(input: $input) {
    __typename
    ... on Contact { id firstName lastName displayName company nextFollowUpAt lastInteractionAt }
    ... on ValidationError { message fields { field message } }
    ... on NotFound { message }
  }
}
"""


async def create_contact(http: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    values = {"firstName": "Ada", **fields}
    result = (await data(http, CREATE_CONTACT, {"input": values}, token))["createContact"]
    assert result["__typename"] == "Contact", result
    contact: dict[str, Any] = result
    return contact


LOG_INTERACTION = """
mutation($input: LogInteractionInput!) {
  logInteraction(input: $input) {
    __typename
    ... on Interaction { id kind occurredAt summary body contacts { id } }
    ... on ValidationError { message fields { field message } }
    ... on NotFound { message entity id }
  }
}
"""


async def log_interaction(
    http: httpx.AsyncClient, token: str, contact_ids: list[str], **fields: Any
) -> dict[str, Any]:
    values = {"contactIds": contact_ids, "summary": "Coffee", **fields}
    result = (await data(http, LOG_INTERACTION, {"input": values}, token))["logInteraction"]
    assert result["__typename"] == "Interaction", result
    interaction: dict[str, Any] = result
    return interaction


async def send_to_both(
    compiled_client: httpx.AsyncClient,
    resolver_client: httpx.AsyncClient,
    reads: Any,
    request: dict[str, Any],
    token: str | None,
    *,
    compiled: bool,
) -> dict[str, Any]:
    """Send one request to an app on each read path; require identical bytes and the path.

    ``reads`` is the compiled app's CompiledReads: its counter says whether the compiled path
    answered (``compiled``) or the resolvers did. json.dumps escapes non-ASCII, so an unpaired
    surrogate travels as a phone might send it.
    """
    body = json.dumps(request)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    before = reads.compiled
    got = await compiled_client.post("/graphql", content=body, headers=headers)
    ran = reads.compiled - before
    want = await resolver_client.post("/graphql", content=body, headers=headers)
    assert got.status_code == want.status_code
    assert got.headers["content-type"] == want.headers["content-type"]
    assert got.content == want.content, request
    assert ran == (1 if compiled else 0), ("compiled" if compiled else "fell back", request)
    decoded: dict[str, Any] = json.loads(got.content)
    return decoded
