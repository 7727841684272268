"""Export over HTTP: requestExport's signed link, and the zip it streams."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import icalendar
import pytest
import vobject
from itsdangerous import URLSafeSerializer
from starlette.applications import Starlette

from api.app import create_app
from model.clock import FixedClock
from tests.api.graphql import create_contact, data, post, sign_up
from tests.api.test_calendar_feed import feed_url, fetch, occurrences
from tests.api.test_import import CONTACTS, VCARDS, contacts, import_file
from tests.api.test_isolation import make_world
from tests.conftest import libpq_url, make_settings, serve
from transfer.archive import file_names
from transfer.link import SALT

REQUEST = "mutation { requestExport { url expiresAt } }"


async def request_export(http: httpx.AsyncClient, token: str) -> str:
    link = (await data(http, REQUEST, token=token))["requestExport"]
    url: str = link["url"]
    assert url.startswith("/export/")
    return url


async def download(http: httpx.AsyncClient, url: str) -> zipfile.ZipFile:
    response = await http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    return zipfile.ZipFile(io.BytesIO(response.content))


def read_json(archive: zipfile.ZipFile, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(archive.read(name))
    return rows


async def test_the_archive_holds_every_kind_of_data_of_its_owner_only(
    http: httpx.AsyncClient, api_app: Starlette
) -> None:
    world = await make_world(http, api_app)
    grace = await create_contact(
        http,
        world.alice.token,
        firstName="Grace",
        birthday={"month": 2, "day": 29},
        emails=[{"label": "work", "value": "grace@example.com"}],
    )
    dismissed = await data(
        http,
        "mutation($a: ID!, $b: ID!) { dismissDuplicate(contactA: $a, contactB: $b) { __typename } }",
        {"a": world.contact, "b": grace["id"]},
        world.alice.token,
    )
    assert dismissed["dismissDuplicate"]["__typename"] == "DuplicateDismissed"
    archive = await download(http, await request_export(http, world.alice.token))
    assert sorted(archive.namelist()) == sorted(file_names())
    assert archive.testzip() is None

    everything = b"".join(archive.read(name) for name in archive.namelist())
    for bobs in (world.bob.user_id, world.bob_contact, world.bob_tag, world.bob_event):
        assert bobs.encode() not in everything
    assert b"alice-phone-token" not in everything
    assert b"password_hash" not in everything

    by_file = {name: read_json(archive, name) for name in file_names() if name.endswith(".json")}
    assert {c["id"] for c in by_file["contacts.json"]} >= {world.contact}
    assert [i["id"] for i in by_file["interactions.json"]] == [world.interaction]
    assert by_file["interactions.json"][0]["contact_ids"] == [world.contact]
    assert [t["id"] for t in by_file["tags.json"]] == [world.tag]
    assert by_file["tags.json"][0]["contact_ids"] == [world.contact]
    assert [r["id"] for r in by_file["reminders.json"]] == [world.reminder]
    assert [g["id"] for g in by_file["goals.json"]] == [world.goal]
    assert [e["id"] for e in by_file["events.json"]] == [world.event]
    assert [d["id"] for d in by_file["devices.json"]] == [world.device]
    assert [n["id"] for n in by_file["notifications.json"]] == [world.notification]
    assert by_file["notifications.json"][0]["deliveries"]
    [settings] = by_file["settings.json"]
    assert settings["email"] == world.alice.email
    assert by_file["introductions.json"] == []
    [pair] = by_file["duplicate_dismissals.json"]
    assert {pair["contact_a"], pair["contact_b"]} == {world.contact, grace["id"]}
    for row in by_file["contacts.json"]:
        assert not {"owner_id", "field_hlc", "cl", "server_version"} & set(row)

    cards = list(vobject.readComponents(archive.read("contacts.vcf").decode()))
    assert {c.fn.value for c in cards} == {"Alice's friend", "Grace"}
    ics = archive.read("calendar.ics")
    found = occurrences(ics, date(2025, 1, 1), date(2029, 1, 1))
    # Feb 29 falls on Feb 28 in common years, as pushes do.
    assert found["Grace's birthday"] == [
        date(y, 2, d) for y, d in ((2025, 28), (2026, 28), (2027, 28), (2028, 29))
    ]
    assert "Send deck" in {
        str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(ics).walk() if e.name == "VEVENT"
    }
    # The calendar feed's text, event for event: one iCalendar writer (notifications/ics.py).
    feed = await fetch(http, await feed_url(http, world.alice.token))
    assert feed.status_code == 200
    assert without_stamps(ics) == without_stamps(feed.content)


def without_stamps(ics: bytes) -> list[bytes]:
    """The lines of an iCalendar text but its DTSTAMPs (the moment it was written)."""
    return [line for line in ics.splitlines() if not line.startswith(b"DTSTAMP")]


async def test_a_link_changed_or_forged_for_another_owner_is_refused(
    http: httpx.AsyncClient,
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    await create_contact(http, bob.token, firstName="Bob's secret")
    url = await request_export(http, alice.token)
    token = url.removeprefix("/export/")
    signature = token.rpartition(".")[2]
    # Read without the key (itsdangerous may have compressed it), as anyone holding it could.
    payload = URLSafeSerializer("not the key", salt=SALT).loads_unsafe(token)[1]
    assert payload["o"] == alice.user_id
    # Bob's id in Alice's signed link: the signature no longer matches.
    forged = dict(payload, o=bob.user_id)
    forged_part = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    tampered = [
        f"/export/{forged_part}.{signature}",
        f"/export/{token[:-2]}{'AA' if token[-2:] != 'AA' else 'BB'}",
        "/export/not-a-link",
        f"/export/{bob.user_id}",
    ]
    for bad in tampered:
        response = await http.get(bad)
        assert response.status_code == 404, bad
        assert response.json()["errors"][0]["message"] == "This export link is not valid."
        assert b"Bob's secret" not in response.content


async def test_a_link_from_another_server_secret_is_refused(
    http: httpx.AsyncClient, api_db: str, tmp_path: Path
) -> None:
    alice = await sign_up(http)
    other = create_app(
        make_settings(tmp_path, auth={"secret_key": "another-servers-secret-key-long-enough-0123"}),
        database_url=api_db,
    )
    async with serve(other) as other_url, httpx.AsyncClient(base_url=other_url) as client:
        # The same account signs in on the other server, whose links this one never made.
        signed = (
            await data(
                client,
                "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p})"
                " { ... on AuthPayload { accessToken } } }",
                {"e": alice.email, "p": alice.password},
            )
        )["signIn"]
        url = await request_export(client, signed["accessToken"])
    assert (await http.get(url)).status_code == 404


@pytest.fixture
async def clocked(api_db: str, tmp_path: Path) -> AsyncIterator[tuple[str, FixedClock]]:
    clock = FixedClock(datetime.now(UTC))
    app = create_app(make_settings(tmp_path), database_url=api_db, clock=clock)
    async with serve(app) as url:
        yield url, clock


async def test_an_expired_link_is_gone(clocked: tuple[str, FixedClock]) -> None:
    url, clock = clocked
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        alice = await sign_up(http)
        link = (await data(http, REQUEST, token=alice.token))["requestExport"]
        expires = datetime.fromisoformat(link["expiresAt"])
        assert expires == clock.at + timedelta(minutes=10)
        clock.at = expires - timedelta(seconds=1)
        assert (await http.get(link["url"])).status_code == 200
        clock.at = expires
        response = await http.get(link["url"])
        assert response.status_code == 410
        assert "requestExport" in response.json()["errors"][0]["message"]


async def test_a_deleted_accounts_link_stops_working(http: httpx.AsyncClient) -> None:
    alice = await sign_up(http)
    url = await request_export(http, alice.token)
    deleted = await data(
        http,
        "mutation($p: String!) { deleteAccount(input: {password: $p}) { __typename } }",
        {"p": alice.password},
        alice.token,
    )
    assert deleted["deleteAccount"]["__typename"] == "AccountDeleted"
    assert (await http.get(url)).status_code == 404


async def test_export_then_import_into_a_new_account_reproduces_the_contacts(
    http: httpx.AsyncClient,
) -> None:
    alice = await sign_up(http)
    await import_file(http, alice.token, VCARDS)
    await create_contact(
        http,
        alice.token,
        firstName="Lin",
        lastName="Smith; Jones",
        company="A, B; C",
        title="Head\\of things",
        notes="two\nlines, commas; semicolons",
        howWeMet="Connected on LinkedIn on 2021-03-15",
        urls=[{"label": "LinkedIn", "value": "https://www.linkedin.com/in/lin"}],
        phones=[{"label": "", "value": "+1 (555) 010-0000"}],
        birthday={"month": 7, "day": 4, "year": 1990},
    )
    archive = await download(http, await request_export(http, alice.token))
    newcomer = await sign_up(http)
    result = await import_file(http, newcomer.token, archive.read("contacts.vcf"))
    assert (result["created"], result["problems"]) == (4, [])

    def comparable(found: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {name: {k: v for k, v in c.items() if k != "id"} for name, c in found.items()}

    assert comparable(await contacts(http, newcomer)) == comparable(await contacts(http, alice))
    assert CONTACTS  # the same fields compared as the import tests read


async def test_request_export_needs_a_signed_in_user(http: httpx.AsyncClient) -> None:
    body = await post(http, REQUEST)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_link_works_once(http: httpx.AsyncClient) -> None:
    alice = await sign_up(http)
    url = await request_export(http, alice.token)
    await download(http, url)
    again = await http.get(url)
    assert again.status_code == 410
    [error] = again.json()["errors"]
    assert (
        error["message"]
        == "This export link was used already; ask for a new one with requestExport."
    )
    # A new link works: only the used one is spent.
    await download(http, await request_export(http, alice.token))


async def test_signing_out_ends_the_sessions_links(http: httpx.AsyncClient) -> None:
    alice = await sign_up(http)
    url = await request_export(http, alice.token)
    other = await sign_in(http, alice.email, alice.password)
    kept = await request_export(http, other)
    assert (await data(http, "mutation { signOut { ok } }", token=alice.token))["signOut"]["ok"]
    response = await http.get(url)
    assert response.status_code == 410
    assert "has ended (signed out or revoked); sign in" in response.json()["errors"][0]["message"]
    # The link another session asked for still works.
    await download(http, kept)


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> str:
    signed = (
        await data(
            http,
            "mutation($e: String!, $p: String!) { signIn(input: {email: $e, password: $p})"
            " { ... on AuthPayload { accessToken } } }",
            {"e": email, "p": password},
        )
    )["signIn"]
    token: str = signed["accessToken"]
    return token


async def waiting_for_contacts(lock: asyncpg.Connection, count: int) -> None:
    """Return once ``count`` sessions wait for the contacts table's lock."""
    waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'contacts'::regclass"
    while await lock.fetchval(waiting) < count:  # noqa: ASYNC110 (the server's state)
        await asyncio.sleep(0.02)


async def hold_contacts(api_db: str) -> tuple[asyncpg.Connection, Any]:
    """Lock the contacts table: a download waits at its first file, in its snapshot."""
    lock = await asyncpg.connect(libpq_url(api_db))
    held = lock.transaction()
    await held.start()
    await lock.execute("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")
    return lock, held


async def test_a_download_given_up_by_its_client_frees_its_owner(
    http: httpx.AsyncClient, api_url: str, api_db: str
) -> None:
    alice = await sign_up(http)
    first, second = [await request_export(http, alice.token) for _ in range(2)]
    lock, held = await hold_contacts(api_db)
    try:
        async with (
            httpx.AsyncClient(base_url=api_url, timeout=30) as gone,
            gone.stream("GET", first) as response,
        ):
            assert response.status_code == 200
        # The client hung up mid-download: the stream closed without being read.
        await held.rollback()
    finally:
        await lock.close()
    # The server notices, ends the download and gives back its place (and its connection).
    await asyncio.wait_for(downloaded(http, second), 30)


async def test_a_download_that_fails_frees_its_owner(
    http: httpx.AsyncClient, api_url: str, api_db: str
) -> None:
    alice = await sign_up(http)
    first, second = [await request_export(http, alice.token) for _ in range(2)]
    lock, held = await hold_contacts(api_db)
    try:
        async with (
            httpx.AsyncClient(base_url=api_url, timeout=30) as client,
            client.stream("GET", first) as response,
        ):
            assert response.status_code == 200
            # The download's database session ends under it (a restart, an operator).
            waiting = (
                "SELECT pid FROM pg_locks WHERE NOT granted AND relation = 'contacts'::regclass"
            )
            while (pid := await lock.fetchval(waiting)) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            await lock.execute("SELECT pg_terminate_backend($1)", pid)
            with pytest.raises(httpx.RemoteProtocolError):
                await response.aread()  # the archive stops short
    finally:
        await held.rollback()
        await lock.close()
    await asyncio.wait_for(downloaded(http, second), 30)


async def downloaded(http: httpx.AsyncClient, url: str) -> None:
    """GET ``url`` until it is not refused for a download in flight; it must then succeed."""
    while (answer := await http.get(url)).status_code == 429:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
    assert answer.status_code == 200


async def test_an_owner_downloads_one_export_at_a_time(
    http: httpx.AsyncClient, api_url: str, api_db: str
) -> None:
    alice, bob = await sign_up(http), await sign_up(http)
    await create_contact(http, alice.token, firstName="Ada")
    first, second = [await request_export(http, alice.token) for _ in range(2)]
    lock, held = await hold_contacts(api_db)
    try:
        async with (
            httpx.AsyncClient(base_url=api_url, timeout=30) as slow,
            slow.stream("GET", first) as running,
        ):
            assert running.status_code == 200
            refused = await http.get(second)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == "10"
            [error] = refused.json()["errors"]
            assert error["extensions"]["code"] == "RATE_LIMITED"
            assert "downloading already" in error["message"]
            # Another owner's download is not refused: it waits at the lock beside Alice's.
            bobs = asyncio.create_task(http.get(await request_export(http, bob.token)))
            await waiting_for_contacts(lock, 2)
            await held.rollback()
            body = b"".join([chunk async for chunk in running.aiter_bytes()])
    finally:
        await lock.close()
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert [c["first_name"] for c in read_json(archive, "contacts.json")] == ["Ada"]
    assert (await bobs).status_code == 200
    # Refused while the other ran, the second link was not spent: it works now.
    await download(http, second)
