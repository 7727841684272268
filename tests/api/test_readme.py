"""The README's first session works when replayed against the API, as pasted into GraphiQL."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx

from tests.api.graphql import data

README = Path(__file__).resolve().parents[2] / "README.md"


def graphql_blocks() -> list[str]:
    return re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)


async def test_the_first_session_in_the_readme_works(http: httpx.AsyncClient) -> None:
    sign_up, create, log, listing = graphql_blocks()
    # The README's email would clash with earlier runs on a shared database.
    sign_up = sign_up.replace("ada@example.com", f"ada-{uuid.uuid4().hex[:8]}@example.com")
    auth = (await data(http, sign_up))["signUp"]
    assert auth["__typename"] == "AuthPayload", auth
    token = auth["accessToken"]

    contact = (await data(http, create, token=token))["createContact"]
    assert contact["__typename"] == "Contact", contact
    assert contact["displayName"] == "Grace Hopper"

    logged = await data(http, log.replace("PASTE-THE-CONTACT-ID", contact["id"]), token=token)
    interaction = logged["logInteraction"]
    assert interaction["__typename"] == "Interaction", interaction
    assert interaction["contacts"][0]["lastInteractionAt"] == interaction["occurredAt"]

    contacts = (await data(http, listing, token=token))["contacts"]
    assert contacts["totalCount"] == 1
    node = contacts["edges"][0]["node"]
    assert node["interactions"]["nodes"][0]["summary"] == "Lunch near the Pentagon"
