"""The ``rapport`` command: serve, migrate, worker, seed, import."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
import uvloop

from api.logs import configure_logging, uvicorn_log_config
from api.settings import Settings

app = typer.Typer(help="Rapport: the backend of a relationship app.", no_args_is_help=True)
log = logging.getLogger("rapport")

# Holds the embedded server for the life of the process; it stops when the process exits.
_embedded: list[Any] = []


def database_url(settings: Settings) -> str:
    """Return the configured database, or start the embedded one under the data directory."""
    if settings.database.url:
        return settings.database.url
    from store.embedded import start_embedded

    pg_dir = (settings.database.data_dir / "pg").resolve()
    log.info("starting embedded PostgreSQL in %s", pg_dir)
    url, server = start_embedded(pg_dir)
    _embedded.append(server)
    return url


def migrate_database(url: str) -> None:
    from store import migrate
    from store.engine import create_engine

    async def run() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def start(settings: Settings) -> str:
    """Set up logging, find (or start) the database and migrate it; return its URL."""
    configure_logging(settings.server.log_level, settings.server.log_format)
    url = database_url(settings)
    # The migration lock is a session's: PostgreSQL itself, not PgBouncer.
    migrate_database(settings.direct_url(url))
    return url


@app.command()
def migrate() -> None:
    """Apply database migrations (Alembic) up to the newest."""
    start(Settings())
    typer.echo("database is up to date")


def share_metrics_directory() -> None:
    """Have uvicorn's worker processes write their metrics where each can sum them all.

    PROMETHEUS_MULTIPROC_DIR, or a new temporary directory; its files from an earlier run
    are removed first (prometheus_client would add their counts to this run's).
    """
    import tempfile
    from pathlib import Path

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is None:
        directory = tempfile.mkdtemp(prefix="rapport-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    for stale in Path(directory).glob("*.db"):
        stale.unlink()
    log.info("metrics of the API processes are shared through %s", directory)


@app.command()
def serve(
    port: Annotated[int | None, typer.Option(help="Port (default RAPPORT_PORT or 8000).")] = None,
    workers: Annotated[
        int | None, typer.Option(help="API processes (default RAPPORT_WORKERS).")
    ] = None,
) -> None:
    """Migrate, then serve the GraphQL API (and GraphiQL in development)."""
    settings = Settings()
    url = start(settings)
    port = port or settings.server.port
    workers = workers or settings.server.workers
    base = f"http://{settings.server.host}:{port}"
    typer.echo(
        f"\nRapport is starting on {base}\n"
        f"  GraphQL endpoint and playground: {base}/graphql\n"
        f"  Health: {base}/healthz   Readiness: {base}/readyz\n"
        "  Get a token: run the signUp mutation (see README.md, 'A first session'), then send\n"
        "  'Authorization: Bearer <accessToken>' in the playground's Headers tab.\n"
    )
    # Worker processes read the database URL from the environment.
    os.environ["RAPPORT_DATABASE_URL"] = url
    if workers > 1:
        share_metrics_directory()
    uvicorn.run(
        "api.main:create_app_from_env",
        factory=True,
        host=settings.server.host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level=settings.server.log_level.lower(),
        log_config=uvicorn_log_config(settings.server.log_format),
        proxy_headers=True,
        # Only these proxies' X-Forwarded-For names the client the rate limits count.
        forwarded_allow_ips=settings.server.trusted_proxies,
        # Larger WebSocket frames are refused by uvicorn before they are buffered.
        ws_max_size=settings.limits.max_body_bytes,
    )


@app.command()
def worker() -> None:
    """Plan and send push notifications until stopped (SIGTERM finishes the batch in hand)."""
    from api.worker import run_worker

    settings = Settings()
    url = start(settings)
    # The loop `rapport serve` runs on (uvicorn's); it halves the event loop's share of a push.
    uvloop.run(run_worker(settings, url))


@app.command()
def seed(
    contacts: Annotated[int, typer.Option(help="Contacts per user.")] = 200,
    interactions: Annotated[int, typer.Option(help="Interactions per contact, on average.")] = 10,
    users: Annotated[int, typer.Option(help="How many users to create.")] = 1,
    email: Annotated[str, typer.Option(help="Email of the first user.")] = "demo@rapport.dev",
    password: Annotated[str, typer.Option(help="Password of every seeded user.")] = "rapport-demo",  # noqa: S107
    random_seed: Annotated[int, typer.Option(help="Seed for reproducible data.")] = 7,
) -> None:
    """Create users with realistic generated contacts and interactions."""
    from api import seed as seeding

    settings = Settings()
    url = start(settings)
    created = asyncio.run(
        seeding.seed_database(
            settings.direct_url(url),
            users=users,
            contacts=contacts,
            interactions=interactions,
            email=email,
            password=password,
            random_seed=random_seed,
        )
    )
    typer.echo(f"seeded {len(created)} user(s); sign in as {created[0]} with password {password!r}")


@app.command("import")
def import_contacts(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The file.")
    ],
    email: Annotated[str, typer.Option(help="Email of the account to import into.")],
    format: Annotated[
        str | None,
        typer.Option(help="VCARD or LINKEDIN_CSV (default: VCARD for .vcf, else LINKEDIN_CSV)."),
    ] = None,
) -> None:
    """Import contacts from a vCard file or LinkedIn's Connections.csv into an account."""
    from model.errors import ValidationFailed
    from transfer.command import UnknownAccount, guess_format, import_data
    from transfer.contact_import import ImportFormat, ImportRunning
    from transfer.entry import MalformedFile

    url = start(Settings())
    try:
        fmt = ImportFormat(format.upper()) if format else guess_format(file)
    except ValueError:
        raise typer.BadParameter("use VCARD or LINKEDIN_CSV", param_hint="--format") from None
    try:
        summary = asyncio.run(import_data(url, email, file.read_bytes(), fmt))
    except UnknownAccount:
        typer.echo(f"no account has the email {email!r}", err=True)
        raise typer.Exit(1) from None
    except ImportRunning:
        typer.echo(f"an import into {email} is already running; try again when it ends", err=True)
        raise typer.Exit(1) from None
    except MalformedFile as exc:
        typer.echo(f"{file}: line {exc.line}: {exc.message}; nothing was imported", err=True)
        raise typer.Exit(1) from None
    except ValidationFailed as exc:
        typer.echo(f"{file}: {exc}; nothing was imported", err=True)
        raise typer.Exit(1) from None
    for problem in summary.problems:
        typer.echo(f"{file}: line {problem.line}: {problem.message}", err=True)
    typer.echo(
        f"created {summary.created}, updated {summary.updated}, skipped {summary.skipped} "
        f"({len(summary.problems)} problems)"
    )


@app.command("print-schema")
def print_schema(
    output: Annotated[str, typer.Option(help="Where to write the SDL.")] = "schema.graphql",
) -> None:
    """Write the GraphQL schema (SDL) to schema.graphql; a test keeps the file current."""
    from schema import build_schema

    with open(output, "w") as handle:
        handle.write(build_schema().as_str() + "\n")
    typer.echo(f"wrote {output}")


@app.command("print-distribution")
def print_distribution() -> None:
    """Print the Citus statements that distribute the tables by owner_id (docs/operations.md)."""
    from store.sharding import distribution_statements

    for statement in distribution_statements():
        typer.echo(statement)


@app.command("purge-tombstones")
def purge_tombstones_command() -> None:
    """Remove rows deleted longer ago than RAPPORT_TOMBSTONE_RETENTION_DAYS (run daily).

    Also drops the rate-limit rows of keys whose allowance is whole again.
    """
    from datetime import UTC, datetime, timedelta

    from store import ratelimits
    from store.engine import create_engine
    from sync.tombstone import purge_tombstones

    settings = Settings()
    configure_logging(settings.server.log_level, settings.server.log_format)
    url = database_url(settings)
    before = datetime.now(UTC) - timedelta(days=settings.database.tombstone_retention_days)

    async def run() -> tuple[dict[Any, int], int]:
        engine = create_engine(url, pool_size=1, pgbouncer=settings.database.pgbouncer)
        try:
            counts = await purge_tombstones(engine, before=before)
            async with engine.begin() as conn:
                pruned = await ratelimits.prune_keys(conn)
            return counts, pruned
        finally:
            await engine.dispose()

    counts, pruned = asyncio.run(run())
    typer.echo(
        f"purged {sum(counts.values())} rows deleted before {before:%Y-%m-%d} ({len(counts)} users)"
        f" and {pruned} spent rate-limit keys"
    )
