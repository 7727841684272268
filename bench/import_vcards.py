"""Benchmark importing 10,000 vCards through the API (issue 16's target: under 10 s).

Run from the repository root::

    .venv/bin/python bench/import_vcards.py [--cards 10000] [--repeat 3]

What it does:

1. Writes ``--cards`` vCard 3.0 cards made with Faker (seeded: the same file every run): name,
   company, title, one or two emails, a phone, a profile URL, a birthday (every fifth without
   a year, Apple's 1604 convention), a note. Every tenth card is vCard 4.0.
2. Creates the database ``rapport_bench_import`` afresh on the server named by
   ``RAPPORT_DATABASE_URL`` (only its server is used; default
   ``postgresql://postgres@127.0.0.1:5432/``) and migrates it.
3. Serves the app in this process (uvicorn), and for each repeat signs up a new user and sends
   the file as ``importContacts`` in one GraphQL multipart request, timing from the first byte
   sent to the answer read (``created`` must equal the cards), with the CPU time this process
   (server and client) used meanwhile; PostgreSQL's CPU is not counted. Then it sends the same file
   again to that user (``skipped`` must equal the cards: a re-import changes nothing).
4. Times parsing alone (``transfer.contact_import.read_file``), to show where the time goes.

Nothing here asserts timings; the numbers go to ``bench/RESULTS.md`` by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
from faker import Faker

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402
from transfer.contact_import import ImportFormat, read_file  # noqa: E402

DATABASE = "rapport_bench_import"
SECRET_KEY = "bench-import-only-secret-key-not-for-production-0123456789"  # noqa: S105
IMPORT = (
    "mutation($input: ImportContactsInput!) { importContacts(input: $input) { __typename "
    "... on ImportResult { created updated skipped problems { line message } } "
    "... on MalformedFile { message line } } }"
)
SIGN_UP = (
    "mutation($input: SignUpInput!) { signUp(input: $input) { __typename "
    "... on AuthPayload { accessToken } } }"
)


def make_cards(count: int, seed: int = 16) -> bytes:
    fake = Faker()
    Faker.seed(seed)
    cards: list[str] = []
    for n in range(count):
        first, last = fake.first_name(), fake.last_name()
        handle = f"{first}.{last}.{n}".lower()
        birthday = fake.date_of_birth(minimum_age=20, maximum_age=80)
        bday = (
            f"BDAY;X-APPLE-OMIT-YEAR=1604:1604-{birthday:%m-%d}"
            if n % 5 == 0
            else f"BDAY:{birthday:%Y-%m-%d}"
        )
        lines = [
            "BEGIN:VCARD",
            "VERSION:4.0" if n % 10 == 0 else "VERSION:3.0",
            f"N:{last};{first};;;",
            f"FN:{first} {last}",
            f"ORG:{fake.company().replace(',', '')}",
            f"TITLE:{fake.job().replace(',', '')}",
            f"EMAIL;TYPE=INTERNET,WORK:{handle}@example.com",
            f"TEL;TYPE=CELL:+1 555 {n:07d}",
            f"URL:https://www.linkedin.com/in/{handle}",
            bday,
            f"NOTE:{fake.sentence()}",
        ]
        if n % 3 == 0:
            lines.insert(7, f"EMAIL;TYPE=INTERNET,HOME:{handle}@home.example")
        lines.append("END:VCARD")
        cards.append("\r\n".join(lines))
    return ("\r\n".join(cards) + "\r\n").encode()


async def send(
    http: httpx.AsyncClient, token: str, cards: bytes
) -> tuple[float, float, dict[str, object]]:
    operations = {"query": IMPORT, "variables": {"input": {"format": "VCARD", "file": None}}}
    started, cpu = time.perf_counter(), time.process_time()
    response = await http.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("contacts.vcf", cards, "text/vcard")},
        headers={"Authorization": f"Bearer {token}", "Apollo-Require-Preflight": "true"},
    )
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    response.raise_for_status()
    result: dict[str, object] = response.json()["data"]["importContacts"]
    return elapsed, used, result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cards = make_cards(args.cards)
    print(f"{args.cards:,} vCards, {len(cards) / 1e6:.1f} MB")
    started, cpu = time.perf_counter(), time.process_time()
    entries = read_file(io.BytesIO(cards), ImportFormat.VCARD)
    parsed, parsed_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"parsing and checking alone (read_file): {parsed:.2f} s, {parsed_cpu:.2f} s CPU, "
        f"{len(entries):,} entries"
    )

    url = harness.database_url(DATABASE)
    await harness.ready_database(url, drop_first=True)
    async with harness.serving_in_process(url, secret_key=SECRET_KEY, request_seconds=300) as http:
        for run in range(1, args.repeat + 1):
            email = f"import-{uuid.uuid4().hex[:8]}@bench.rapport"
            signed = await http.post(
                "/graphql",
                json={
                    "query": SIGN_UP,
                    "variables": {"input": {"email": email, "password": "bench-password-1"}},
                },
            )
            token = signed.json()["data"]["signUp"]["accessToken"]
            first, first_cpu, result = await send(http, token, cards)
            assert result["created"] == args.cards, result
            again, again_cpu, repeat = await send(http, token, cards)
            assert repeat["skipped"] == args.cards, repeat
            print(
                f"run {run}: import {first:.2f} s, {first_cpu:.2f} s CPU "
                f"(created {result['created']:,}); re-import {again:.2f} s, "
                f"{again_cpu:.2f} s CPU (skipped {repeat['skipped']:,}); "
                f"load average {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    asyncio.run(main())
