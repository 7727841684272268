"""Imported text is never changed silently: NUL, line separators, odd bytes, huge fields.

Over HTTP, as tests/api/test_import.py: the file goes up as a GraphQL multipart request and
the contacts are read back through the API.
"""

from __future__ import annotations

import httpx

from tests.api.graphql import create_contact, sign_up
from tests.api.test_export import download, request_export
from tests.api.test_import import CONNECTIONS, contacts, import_file

HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
# The characters str.splitlines breaks lines at besides CR and LF, which a note may hold.
SEPARATORS = "\u2028 \u2029 \x85 \x0b \x0c \x1c \x1d \x1e"


async def test_a_nul_in_a_vcard_value_is_removed_with_a_problem_and_the_value_kept(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        "N:Love\x00lace;Ada;;;\r\n"
        "TITLE:Head\x00 of engines\r\n"
        "NOTE:first\\, part\x00 and the rest\r\n"
        "EMAIL:ada\x00@example.com\r\n"
        "X-RAPPORT-HOW-WE-MET:At a\x00 salon\r\n"
        "END:VCARD\r\n"
    )
    result = await import_file(http, account.token, card)
    assert result["created"] == 1, result
    [contact] = (await contacts(http, account)).values()
    # Before, a NUL cut a single-valued field short without a word (TITLE became "Head").
    assert contact["lastName"] == "Lovelace"
    assert contact["title"] == "Head of engines"
    assert contact["notes"] == "first, part and the rest"
    assert contact["emails"] == [{"label": "", "value": "ada@example.com"}]
    assert contact["howWeMet"] == "At a salon"
    problems = {p["message"].partition(":")[0]: p for p in result["problems"]}
    assert set(problems) == {"lastName", "title", "notes", "emails.0.value", "howWeMet"}
    for problem in problems.values():
        assert problem["line"] == 1
        assert "1 NUL character (U+0000) removed" in problem["message"]


async def test_a_nul_in_a_first_name_keeps_the_person(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    card = "BEGIN:VCARD\nVERSION:4.0\nFN:Gr\x00ace Hopper\nEND:VCARD\n"
    result = await import_file(http, account.token, card)
    assert result["created"] == 1, result
    assert list(await contacts(http, account)) == ["Grace Hopper"]
    assert result["problems"][0]["message"].startswith("firstName: 1 NUL character")


async def test_line_separators_inside_a_value_are_text_not_line_breaks(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    card = f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada Lovelace\r\nNOTE:a{SEPARATORS}z\r\nEND:VCARD\r\n"
    result = await import_file(http, account.token, card)
    assert (result["__typename"], result["created"], result["problems"]) == (
        "ImportResult",
        1,
        [],
    )
    [contact] = (await contacts(http, account)).values()
    assert contact["notes"] == f"a{SEPARATORS}z"


async def test_a_file_with_lone_carriage_returns_reads_and_counts_lines(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    card = "BEGIN:VCARD\rVERSION:3.0\rFN:Ada Lovelace\rEND:VCARD\r"
    assert (await import_file(http, account.token, card))["created"] == 1
    bad = await import_file(
        http, account.token, card + "BEGIN:VCARD\rVERSION:3.0\rFN Ada\rEND:VCARD\r"
    )
    assert (bad["__typename"], bad["line"]) == ("MalformedFile", 7)


async def test_bytes_a_quoted_printable_charset_cannot_read_are_reported(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    card = (
        "BEGIN:VCARD\r\nVERSION:2.1\r\nN:Lovelace;Ada\r\n"
        "NOTE;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:caf=E9 au lait\r\nEND:VCARD\r\n"
    )
    result = await import_file(http, account.token, card)
    [problem] = result["problems"]
    assert problem == {
        "line": 4,
        "message": "NOTE: byte 0xe9 is not UTF-8 text; replaced with U+FFFD",
    }
    [contact] = (await contacts(http, account)).values()
    assert contact["notes"] == "caf\ufffd au lait"


async def test_linkedin_nul_huge_fields_and_far_dates(http: httpx.AsyncClient) -> None:
    account = await sign_up(http)
    rows = (
        "Ada,Lovelace,,,Analytical\x00 Engines,Countess,01 Jan 0001\n"
        "Alan,Turing,,,,,31 Dec 9999\n"
        f"Grace,Hopper,,,,,{'9' * 50_000}\n"
    )
    result = await import_file(http, account.token, HEADER + rows, "LINKEDIN_CSV")
    assert result["created"] == 3, result
    found = await contacts(http, account)
    assert found["Ada Lovelace"]["company"] == "Analytical Engines"
    assert found["Ada Lovelace"]["howWeMet"] == "Connected on LinkedIn on 0001-01-01"
    assert found["Alan Turing"]["howWeMet"] == "Connected on LinkedIn on 9999-12-31"
    nul, date = result["problems"]
    assert (nul["line"], nul["message"].partition(":")[0]) == (2, "company")
    # A huge value is quoted in a problem only in part.
    assert date["line"] == 4
    assert len(date["message"]) < 200
    assert date["message"].startswith("Connected On '999")

    too_big = await import_file(
        http, account.token, f'{HEADER}Ada,Lovelace,,,"{"x" * 200_000}",,\n', "LINKEDIN_CSV"
    )
    assert (too_big["__typename"], too_big["line"]) == ("MalformedFile", 2)
    assert "field larger than field limit" in too_big["message"]


async def test_linkedin_lines_keep_their_numbers_past_a_line_separator(
    http: httpx.AsyncClient,
) -> None:
    account = await sign_up(http)
    content = CONNECTIONS.replace("Countess", "Count\u2028ess") + "Grace,Hopper\n"
    result = await import_file(http, account.token, content, "LINKEDIN_CSV")
    assert (result["__typename"], result["line"]) == ("MalformedFile", 7)


async def test_what_the_export_writes_imports_back_unchanged(http: httpx.AsyncClient) -> None:
    alice = await sign_up(http)
    await create_contact(
        http,
        alice.token,
        firstName="Lin",
        lastName="Back\\",
        company="Ends, with; a backslash\\",
        title="Head\\nof things",
        notes=f"lines{SEPARATORS} and a tab\t, then \\ and \\\\",
        howWeMet="at a\u2028conference",
    )
    archive = await download(http, await request_export(http, alice.token))
    newcomer = await sign_up(http)
    result = await import_file(http, newcomer.token, archive.read("contacts.vcf"))
    assert (result["created"], result["problems"]) == (1, []), result
    [original] = (await contacts(http, alice)).values()
    [copy] = (await contacts(http, newcomer)).values()
    assert {k: v for k, v in copy.items() if k != "id"} == {
        k: v for k, v in original.items() if k != "id"
    }
