"""`rapport import --email USER FILE`: the same import as the API's, from the command line."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx

from tests.api.graphql import sign_up
from tests.api.test_import import CONNECTIONS, VCARDS, contacts

RAPPORT = Path(sys.executable).parent / "rapport"


async def run(database_url: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        RAPPORT,
        "import",
        *args,
        env={**os.environ, "RAPPORT_DATABASE_URL": database_url, "RAPPORT_LOG_LEVEL": "WARNING"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_command_imports_a_file_once(
    http: httpx.AsyncClient, api_db: str, tmp_path: Path
) -> None:
    account = await sign_up(http)
    cards = tmp_path / "contacts.vcf"
    cards.write_text(VCARDS)
    code, out, err = await run(api_db, "--email", account.email.upper(), str(cards))
    assert code == 0, err
    assert "created 3, updated 0, skipped 0 (1 problems)" in out
    assert "line 14: emails.1.value" in err
    assert sorted(await contacts(http, account)) == [
        "Ada Lovelace",
        "Grace Hopper",
        "Katherine Johnson",
    ]
    code, out, _ = await run(api_db, "--email", account.email, str(cards))
    assert code == 0
    assert "created 0, updated 0, skipped 3" in out

    linkedin = tmp_path / "Connections.csv"
    linkedin.write_text(CONNECTIONS)
    code, out, err = await run(api_db, "--email", account.email, str(linkedin))
    assert code == 0, err
    assert "created 1, updated 1, skipped 0" in out


async def test_the_command_refuses_a_malformed_file_or_an_unknown_account(
    http: httpx.AsyncClient, api_db: str, tmp_path: Path
) -> None:
    account = await sign_up(http)
    cards = tmp_path / "broken.vcf"
    cards.write_text(VCARDS.removesuffix("END:VCARD\n"))
    code, _, err = await run(api_db, "--email", account.email, str(cards))
    assert code == 1
    assert "line 23: this vCard has no END:VCARD; nothing was imported" in err
    assert await contacts(http, account) == {}

    code, _, err = await run(api_db, "--email", "nobody@example.com", str(cards))
    assert code == 1
    assert "no account has the email 'nobody@example.com'" in err
