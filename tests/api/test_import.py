"""Importing contacts over HTTP: GraphQL multipart requests carrying vCard and LinkedIn files."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.api.graphql import Account, create_contact, data, sign_up
from tests.conftest import make_settings, serve

IMPORT = """
mutation($input: ImportContactsInput!) {
  importContacts(input: $input) {
    __typename
    ... on ImportResult { created updated skipped problems { line message } }
    ... on MalformedFile { message line }
    ... on ValidationError { message fields { field message } }
    ... on ImportInProgress { message }
  }
}
"""
CONTACTS = """
{ contacts(first: 100) { nodes {
    id firstName lastName company title notes howWeMet
    emails { label value } phones { label value } urls { label value }
    birthday { month day year }
} } }
"""
PULL = """
query($client: ID!) {
  syncPull(clientId: $client, cursor: null, schemaVersion: 1, limit: 500) { changes }
}
"""
PREFLIGHT = {"Apollo-Require-Preflight": "true"}

VCARDS = """BEGIN:VCARD\r
VERSION:3.0\r
N:Lovelace;Ada;;;\r
FN:Ada Lovelace\r
ORG:Analytical Engines Ltd;Research\r
TITLE:Mathematician\r
EMAIL;TYPE=INTERNET,WORK:ada@example.com\r
TEL;TYPE=CELL:+44 20 7946 0000\r
item1.URL:https://www.linkedin.com/in/ada\r
item1.X-ABLabel:_$!<HomePage>!$_\r
BDAY;X-APPLE-OMIT-YEAR=1604:1604-12-10\r
NOTE:Met at the salon\\, London\\nTalked engines\r
END:VCARD\r
BEGIN:VCARD
VERSION:4.0
FN:Grace Hopper
N:Hopper;Grace;;;
BDAY:19061209
EMAIL;TYPE=work:grace@example.com
EMAIL:not an email
TEL;VALUE=uri;TYPE="voice,cell":tel:+1-555-555-0100
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:Katherine Johnson
BDAY:--0826
END:VCARD
"""

CONNECTIONS = """Notes:
"When exporting your connection data, you may notice that some of the email addresses are missing."

First Name,Last Name,URL,Email Address,Company,Position,Connected On
Ada,Lovelace,https://www.linkedin.com/in/ada,,Analytical Engines Ltd,Countess,15 Mar 2021
Alan,Turing,https://www.linkedin.com/in/alan,alan@example.com,"Bletchley Park, Hut 8",Cryptanalyst,02 Jan 2020
"""


async def send_file(
    http: httpx.AsyncClient,
    token: str,
    content: bytes | str,
    fmt: str = "VCARD",
    *,
    filename: str = "contacts.vcf",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send importContacts as the GraphQL multipart request spec says."""
    operations = {"query": IMPORT, "variables": {"input": {"format": fmt, "file": None}}}
    body = content.encode() if isinstance(content, str) else content
    return await http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (filename, body, "text/vcard")},
        headers={"Authorization": f"Bearer {token}", **(PREFLIGHT if headers is None else headers)},
    )


async def import_file(
    http: httpx.AsyncClient, token: str, content: bytes | str, fmt: str = "VCARD"
) -> dict[str, Any]:
    response = await send_file(http, token, content, fmt)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["importContacts"]
    return result


async def contacts(http: httpx.AsyncClient, account: Account) -> dict[str, dict[str, Any]]:
    nodes = (await data(http, CONTACTS, token=account.token))["contacts"]["nodes"]
    return {f"{c['firstName']} {c['lastName']}": c for c in nodes}


async def test_a_vcard_file_becomes_contacts_with_every_field(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    result = await import_file(http, account.token, VCARDS)
    assert result["__typename"] == "ImportResult"
    assert (result["created"], result["updated"], result["skipped"]) == (3, 0, 0)
    # The bad email is left out, and said, with the line its card starts on.
    [problem] = result["problems"]
    assert problem["line"] == 14
    assert "emails.1.value" in problem["message"]
    assert "not an email" in problem["message"]

    found = await contacts(http, account)
    ada = found["Ada Lovelace"]
    assert ada["company"] == "Analytical Engines Ltd"
    assert ada["title"] == "Mathematician"
    assert ada["notes"] == "Met at the salon, London\nTalked engines"
    assert ada["emails"] == [{"label": "work", "value": "ada@example.com"}]
    assert ada["phones"] == [{"label": "cell", "value": "+44 20 7946 0000"}]
    assert ada["urls"] == [{"label": "HomePage", "value": "https://www.linkedin.com/in/ada"}]
    # Apple's year 1604 means "no year".
    assert ada["birthday"] == {"month": 12, "day": 10, "year": None}
    grace = found["Grace Hopper"]
    assert grace["birthday"] == {"month": 12, "day": 9, "year": 1906}
    assert grace["emails"] == [{"label": "work", "value": "grace@example.com"}]
    assert grace["phones"] == [{"label": "cell", "value": "+1-555-555-0100"}]
    # vCard 4's --MMDD: a birthday without a year; a name from FN when N is missing.
    assert found["Katherine Johnson"]["birthday"] == {"month": 8, "day": 26, "year": None}


async def test_importing_the_same_file_again_changes_nothing(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    await import_file(http, account.token, VCARDS)
    before = await contacts(http, account)
    again = await import_file(http, account.token, VCARDS)
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 3)
    assert await contacts(http, account) == before


async def test_a_match_gains_what_it_lacks_and_keeps_what_the_owner_wrote(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    await create_contact(
        http,
        account.token,
        firstName="Augusta",
        lastName="King",
        company="My own words",
        emails=[{"label": "home", "value": "ADA@example.com"}],
    )
    # Matched on the email (case aside), not the name.
    result = await import_file(http, account.token, VCARDS)
    assert (result["created"], result["updated"], result["skipped"]) == (2, 1, 0)
    found = await contacts(http, account)
    assert "Ada Lovelace" not in found
    augusta = found["Augusta King"]
    assert augusta["company"] == "My own words"
    assert augusta["title"] == "Mathematician"
    assert augusta["emails"] == [{"label": "home", "value": "ADA@example.com"}]
    assert [p["value"] for p in augusta["phones"]] == ["+44 20 7946 0000"]


async def test_linkedin_connections_match_on_profile_url_and_keep_the_connection_day(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    await import_file(http, account.token, VCARDS)
    result = await import_file(http, account.token, CONNECTIONS, "LINKEDIN_CSV")
    assert (result["created"], result["updated"], result["skipped"]) == (1, 1, 0)
    found = await contacts(http, account)
    # Ada's profile URL found her vCard contact; her title stays the vCard's.
    ada = found["Ada Lovelace"]
    assert ada["title"] == "Mathematician"
    assert ada["howWeMet"] == "Connected on LinkedIn on 2021-03-15"
    alan = found["Alan Turing"]
    assert alan["company"] == "Bletchley Park, Hut 8"
    assert alan["title"] == "Cryptanalyst"
    assert alan["emails"] == [{"label": "", "value": "alan@example.com"}]
    assert alan["urls"] == [{"label": "LinkedIn", "value": "https://www.linkedin.com/in/alan"}]
    assert alan["howWeMet"] == "Connected on LinkedIn on 2020-01-02"
    again = await import_file(http, account.token, CONNECTIONS, "LINKEDIN_CSV")
    assert (again["created"], again["updated"], again["skipped"]) == (0, 0, 2)


async def test_an_entry_without_a_url_or_email_matches_on_name_and_company(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    await create_contact(http, account.token, firstName="Alan", lastName="Turing", company="Acme")
    await create_contact(http, account.token, firstName="Alan", lastName="Turing")
    card = "BEGIN:VCARD\nVERSION:3.0\nN:Turing;Alan;;;\nORG:Acme\nTITLE:Boss\nEND:VCARD\n"
    result = await import_file(http, account.token, card)
    assert (result["created"], result["updated"]) == (0, 1)
    titles = sorted(
        str(c["title"])
        for c in (await data(http, CONTACTS, token=account.token))["contacts"]["nodes"]
    )
    assert titles == ["Boss", "None"]


async def test_imported_contacts_reach_devices(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    await import_file(http, account.token, VCARDS)
    changes = (await data(http, PULL, {"client": "phone-import-test"}, account.token))["syncPull"][
        "changes"
    ]
    names = sorted(c["fields"]["firstName"] for c in changes if c["entity"] == "contact")
    assert names == ["Ada", "Grace", "Katherine"]


@pytest.mark.parametrize(
    ("content", "fmt", "line", "words"),
    [
        (
            VCARDS.replace("FN:Grace Hopper\n", "FN:Grace Hopper\nthis line has no colon\n"),
            "VCARD",
            17,
            "not a vCard line",
        ),
        (
            VCARDS.replace(
                "END:VCARD\nBEGIN:VCARD\nVERSION:4.0\nFN:Katherine",
                "BEGIN:VCARD\nVERSION:4.0\nFN:Katherine",
            ),
            "VCARD",
            14,
            "no END:VCARD",
        ),
        ("hello\n" + VCARDS, "VCARD", 1, "expected BEGIN:VCARD"),
        (CONNECTIONS + "Grace,Hopper\n", "LINKEDIN_CSV", 7, "expected 7 fields"),
        ("Name,Email\nAda,ada@example.com\n", "LINKEDIN_CSV", 1, "no header line"),
        (VCARDS.encode().replace(b"TITLE:Math", b"TITLE:Math\xff"), "VCARD", 6, "not UTF-8"),
    ],
)
async def test_a_malformed_file_names_its_line_and_imports_nothing(
    http: httpx.AsyncClient, content: str | bytes, fmt: str, line: int, words: str
) -> None:
    account = await sign_up(http)
    result = await import_file(http, account.token, content, fmt)
    assert result["__typename"] == "MalformedFile", result
    assert result["line"] == line
    assert words in result["message"]
    assert await contacts(http, account) == {}


async def test_a_multipart_request_without_a_preflight_header_is_refused(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    response = await send_file(http, account.token, VCARDS, headers={})
    assert response.status_code == 400
    assert "Apollo-Require-Preflight" in response.json()["errors"][0]["message"]
    assert await contacts(http, account) == {}


@pytest.fixture(scope="module")
async def small_upload_url(
    api_db: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    settings = make_settings(tmp_path_factory.mktemp("uploads"), limits={"max_upload_bytes": 4096})
    async with serve(create_app(settings, database_url=api_db)) as url:
        yield url


async def test_an_upload_over_the_limit_is_refused_with_the_limit(small_upload_url: str) -> None:
    async with httpx.AsyncClient(base_url=small_upload_url, timeout=30) as http:
        account = await sign_up(http)
        response = await send_file(http, account.token, VCARDS * 20)
        assert response.status_code == 413
        message = response.json()["errors"][0]["message"]
        assert "4,096 bytes" in message
        assert "RAPPORT_MAX_UPLOAD_BYTES" in message
        # A small one still goes through.
        assert (await import_file(http, account.token, VCARDS))["created"] == 3


async def test_an_import_needs_a_signed_in_user(http: httpx.AsyncClient) -> None:
    response = await send_file(http, "not-a-token", VCARDS)
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_vcard_21_quoted_printable_and_escaped_structured_values(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\n"
        "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;J=C3=BCrgen;;;\r\n"
        "ORG:Smith\\; Sons;Sales\r\n"
        "TEL;CELL:+49 30 1234567\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond=\r\n"
        " line\r\n"
        "END:VCARD\r\n"
    )
    result = await import_file(http, account.token, card)
    assert result["created"] == 1, result
    [contact] = (await contacts(http, account)).values()
    assert (contact["firstName"], contact["lastName"]) == ("Jürgen", "Müller")
    assert contact["company"] == "Smith; Sons"
    assert contact["phones"] == [{"label": "cell", "value": "+49 30 1234567"}]
    assert contact["notes"] == "first line\r\nsecond line"


async def test_an_import_never_reaches_another_users_contacts(http: httpx.AsyncClient) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    await import_file(http, alice.token, VCARDS)
    alices = await contacts(http, alice)
    # Bob's file names Alice's people by the same emails, phones, URLs and names.
    result = await import_file(http, bob.token, VCARDS.replace("Mathematician", "Spy"))
    assert (result["created"], result["updated"], result["skipped"]) == (3, 0, 0)
    assert await contacts(http, alice) == alices
    assert (await contacts(http, bob))["Ada Lovelace"]["title"] == "Spy"
