"""Statements per request: counted in-process, and read from PostgreSQL's log per contender."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import harness
from bench.home_answer import check_home, home, post_home, sign_in
from bench.home_contenders import SECRET_KEY, TOKEN_TTL_SECONDS, Contender, answer, contender
from bench.home_data import Dataset, set_database_option
from bench.home_load import run_pgbench


@dataclass
class StatementCount:
    requests: int
    statements: int
    checkouts: int
    transactions: int | None
    one_request: list[str] = field(default_factory=list)


async def _database_stat(url: str, column: str) -> int:
    """Return a counter of pg_stat_database for the bench database."""
    async with harness.connection(url, "postgres") as conn:
        await conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        value = await conn.scalar(
            sa.text(f"SELECT {column} FROM pg_stat_database WHERE datname = :d"),
            {"d": make_url(url).database},
        )
    return int(value or 0)


async def _transactions(url: str) -> int:
    return await _database_stat(url, "xact_commit + xact_rollback")


async def _sessions(url: str) -> int:
    return await _database_stat(url, "sessions")


async def count_statements(url: str, dataset: Dataset, requests: int) -> StatementCount:
    from api.app import create_app
    from api.settings import AuthSettings, DatabaseSettings, ServerSettings, Settings

    settings = Settings(
        server=ServerSettings(env="production", log_level="WARNING"),
        database=DatabaseSettings(url=url),
        auth=AuthSettings(secret_key=SECRET_KEY, access_token_ttl_seconds=TOKEN_TTL_SECONDS),
    )
    app = create_app(settings, database_url=url)
    engine: AsyncEngine = app.state.engine
    statements: list[str] = []
    checkouts: list[int] = []

    def on_execute(*args: Any) -> None:
        statements.append(str(args[2]))

    def on_checkout(*args: Any) -> None:
        checkouts.append(1)

    def on_query(query: Any) -> None:
        # The compiled read path sends its statement through asyncpg without SQLAlchemy; for
        # SQLAlchemy's own statements asyncpg logs only the transaction control around them.
        if query.query not in ("BEGIN;", "COMMIT;", "ROLLBACK;"):
            statements.append(query.query)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(on_query)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    event.listen(engine.sync_engine.pool, "checkout", on_checkout)
    event.listen(engine.sync_engine.pool, "connect", on_connect)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            token = await sign_in(client)
            print("  in-process:", check_home(await home(client, token), dataset))
            statements.clear()
            checkouts.clear()
            await home(client, token)
            await asyncio.sleep(0.1)
            one_request = list(statements)
            # PostgreSQL backends report their counters at most once a second.
            await asyncio.sleep(1.5)
            before = await _transactions(url)
            statements.clear()
            checkouts.clear()
            for _ in range(requests):
                await home(client, token)
            await asyncio.sleep(0.1)  # asyncpg calls its query loggers soon after, not at once
            counted, checked_out = len(statements), len(checkouts)
    finally:
        await engine.dispose()  # closing the backends makes them report their counters
    await asyncio.sleep(1.5)
    after = await _transactions(url)
    return StatementCount(
        requests=requests,
        statements=counted,
        checkouts=checked_out,
        transactions=after - before,
        one_request=one_request,
    )


# ---------------------------------------------------------------------------------------------
# Statements per request, from PostgreSQL's log.

# log_min_duration_statement = 0 logs one line per simple query ("statement: ...") and, for the
# extended protocol, a line for each parse, bind and execute; a statement run is a "statement"
# or an "execute" line.
LOG_LINE = re.compile(
    r" \w*@(?P<database>\S+) LOG:  duration: [\d.]+ ms  (?P<kind>statement|execute|parse|bind)"
    r"(?: [^:]*)?: (?P<text>.*)$"
)


class LogTail:
    """The lines PostgreSQL's log gains from now on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def statements(self, database: str) -> list[tuple[str, str]]:
        """Return (kind, text) of the bench database's statement lines since the last call."""
        with self.path.open("rb") as log:
            log.seek(self.offset)
            new = log.read()
        self.offset += len(new)
        found: list[tuple[str, str]] = []
        ours = False
        for line in new.decode(errors="replace").splitlines():
            if line.startswith(("\t", " ")):  # a statement's next line
                if ours:
                    found[-1] = (found[-1][0], f"{found[-1][1]} {line.strip()}")
                continue
            match = LOG_LINE.search(line)
            ours = bool(match and match["database"] == database)
            if match and ours:
                found.append((match["kind"], match["text"]))
        return found


@dataclass
class LoggedStatements:
    requests: int
    statements: int
    parses: int
    # The statements of one request, shortened: what one request does.
    one_request: list[str]

    @property
    def per_request(self) -> float:
        return self.statements / self.requests


def check_contenders(
    url: str, owner: str, keys: list[str], requests: int, logs: Path, log_path: Path | None
) -> tuple[dict[str, dict[str, Any]], dict[str, LoggedStatements]]:
    """Start each contender in turn: take its answer, and count its statements per request in
    PostgreSQL's log (when ``log_path`` is given and ``requests`` > 0).

    ``log_min_duration_statement`` is set for the bench database's new sessions meanwhile, so
    each contender starts afresh here and again, without it, for each measured run. The count
    is the bench database's lines: nothing else should use that database meanwhile.
    """
    database = make_url(url).database or ""
    answers: dict[str, dict[str, Any]] = {}
    counted: dict[str, LoggedStatements] = {}
    logging = log_path is not None and requests > 0
    if logging:
        asyncio.run(set_database_option(url, "log_min_duration_statement", "0"))
    try:
        for key in keys:
            with contender(key, url, owner, 4, logs) as target:
                answers[key] = asyncio.run(answer(target, url, owner))
                if not logging or log_path is None:
                    continue
                if target.base:
                    tail = asyncio.run(_sequential(target, requests, log_path))
                else:
                    tail = LogTail(log_path)
                    run_pgbench(url, owner, 1, transactions=requests, latencies=False)
                time.sleep(0.5)
                lines = tail.statements(database)
            run = [
                " ".join(text.split()) for kind, text in lines if kind in ("statement", "execute")
            ]
            counted[key] = LoggedStatements(
                requests=requests,
                statements=len(run),
                parses=sum(kind == "parse" for kind, _ in lines),
                one_request=[
                    f"{n / requests:g} x {text[:130]}" for text, n in Counter(run).most_common()
                ],
            )
    finally:
        if logging:
            asyncio.run(set_database_option(url, "log_min_duration_statement", None))
    return answers, counted


async def _sequential(target: Contender, requests: int, log_path: Path) -> LogTail:
    """Send ``requests`` home requests one after another on one keep-alive connection, after a
    few that open and prepare what a new connection needs; return the log from their start."""
    async with httpx.AsyncClient(base_url=target.base, timeout=60) as client:
        for _ in range(5):
            await post_home(client, target.body, target.headers)
        await asyncio.sleep(0.3)
        tail = LogTail(log_path)
        for _ in range(requests):
            await post_home(client, target.body, target.headers)
    return tail
