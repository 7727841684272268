"""Run a command against a real Rapport server on loopback: the harness of ``make e2e``.

``python -m tests.e2e.launcher node --test tests/e2e/`` starts PostgreSQL (the server named by
RAPPORT_TEST_DATABASE_URL, or an embedded one under .rapport/e2e-pg), creates a fresh
database, migrates it, serves the app with its playground on a free loopback port, runs the
command with RAPPORT_E2E_URL set, and drops the database afterwards. The command's exit code
is the launcher's.

Access tokens live 30 seconds (the shortest Rapport allows), so the clients' refresh path
runs for real within the suite.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
import tempfile
import uuid
from pathlib import Path

from api.app import create_app
from store import migrate
from store.embedded import start_embedded
from store.engine import create_engine
from tests.conftest import ROOT, libpq_url, make_settings, serve, with_database

ARTIFACTS = ROOT / "tests" / "e2e" / "artifacts"
TOKEN_TTL_SECONDS = 30


async def run_sql(server_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(libpq_url(server_url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def run_against_server(server_url: str, command: list[str]) -> int:
    """Serve Rapport on a fresh database of ``server_url`` while ``command`` runs."""
    name = f"rapport_e2e_{uuid.uuid4().hex[:12]}"
    await run_sql(server_url, f"CREATE DATABASE {name}")
    try:
        database_url = with_database(server_url, name)
        engine = create_engine(database_url, pool_size=1)
        await migrate.upgrade(engine)
        await engine.dispose()
        with tempfile.TemporaryDirectory(prefix="rapport-e2e-") as data_dir:
            settings = make_settings(
                Path(data_dir),
                auth={
                    "secret_key": secrets.token_urlsafe(48),
                    "access_token_ttl_seconds": TOKEN_TTL_SECONDS,
                },
                graphql={"playground": True},
            )
            app = create_app(settings, database_url=database_url)
            async with serve(app) as url:
                print(f"e2e: Rapport is serving {url} (database {name})", flush=True)
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                env = {
                    **os.environ,
                    "RAPPORT_E2E_URL": url,
                    "RAPPORT_E2E_TOKEN_TTL_SECONDS": str(TOKEN_TTL_SECONDS),
                    "RAPPORT_E2E_ARTIFACTS": str(ARTIFACTS),
                }
                child = await asyncio.create_subprocess_exec(*command, env=env, cwd=ROOT)
                try:
                    return await child.wait()
                finally:
                    if child.returncode is None:
                        child.terminate()
                        await child.wait()
    finally:
        await run_sql(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    command = sys.argv[1:]
    if not command:
        print("usage: python -m tests.e2e.launcher COMMAND [ARG...]", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    server_url = os.environ.get("RAPPORT_TEST_DATABASE_URL")
    if not server_url:
        # Its own data directory, as the pytest suite may be using .rapport/test-pg meanwhile.
        # The embedded server stops when this process exits.
        server_url, _server = start_embedded(ROOT / ".rapport" / "e2e-pg")
    return asyncio.run(run_against_server(server_url, command))


if __name__ == "__main__":
    sys.exit(main())
