"""The notifications worker as a service: its sender chosen from settings, run until stopped."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta

from api.settings import Settings
from model.clock import Clock, SystemClock
from notifications.sender import LogSender, Sender
from notifications.worker import Worker
from store.engine import create_engine, libpq_url

log = logging.getLogger("rapport.notifications")


def build_sender(settings: Settings) -> Sender:
    """FCM when a service-account file is configured; otherwise log each push."""
    if settings.push.fcm_credentials_file is None:
        log.info(
            "no RAPPORT_FCM_CREDENTIALS_FILE: pushes are logged, not sent"
            " (docs/notifications.md says how to send them)"
        )
        return LogSender()
    from notifications.fcm_sender import FcmSender

    project = settings.auth.firebase_project_id or _project_of(settings)
    return FcmSender(
        project_id=project,
        credentials_file=str(settings.push.fcm_credentials_file),
        fcm_url=settings.push.fcm_url,
        timeout_seconds=settings.push.fcm_timeout_seconds,
        max_connections=settings.push.fcm_max_connections,
    )


def _project_of(settings: Settings) -> str:
    import json

    assert settings.push.fcm_credentials_file is not None
    project = json.loads(settings.push.fcm_credentials_file.read_text()).get("project_id")
    if not project:
        raise RuntimeError(
            "set RAPPORT_FIREBASE_PROJECT_ID: the service-account file names no project_id"
        )
    return str(project)


def build_worker(settings: Settings, database_url: str, clock: Clock | None = None) -> Worker:
    # One connection per batch in flight, one for planning.
    engine = create_engine(
        database_url,
        pool_size=settings.worker.batches_in_flight + 1,
        pgbouncer=settings.database.pgbouncer,
    )
    return Worker(
        engine=engine,
        sender=build_sender(settings),
        clock=clock or SystemClock(),
        batch_size=settings.worker.batch_size,
        batches_in_flight=settings.worker.batches_in_flight,
        lease=timedelta(seconds=settings.worker.lease_seconds),
        # Woken by committed writes; RAPPORT_WORKER_POLL_SECONDS is the fallback poll.
        # LISTEN holds a session: never through PgBouncer's transaction pooling.
        listen_dsn=libpq_url(settings.direct_url(database_url)),
    )


async def run_worker(settings: Settings, database_url: str) -> None:
    """Run until SIGTERM or SIGINT; the batch in hand is finished before stopping."""
    worker = build_worker(settings, database_url)
    if settings.worker.metrics_port is not None:
        from prometheus_client import start_http_server

        # Plain HTTP, no token: bind it where only the scraper reaches (docs/operations.md).
        start_http_server(settings.worker.metrics_port, addr=settings.server.host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await worker.run(stop, idle_seconds=settings.worker.poll_seconds)
    finally:
        await worker.sender.close()
        await worker.engine.dispose()
