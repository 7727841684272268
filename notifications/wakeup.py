"""Waking the worker when a write commits: LISTEN on the writers' channel, polling as fallback.

The sync write path announces every committed change on ``rapport_changes`` (``sync.writer``;
``notifications`` does not import ``sync``, so the name is repeated here). A worker listening
on it plans the written owner at once instead of at its next poll; the poll stays, for writes
that send no notice (a settings change) and for when the connection is down. Notices sent while
the connection was down are lost, so every (re)connection counts as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

log = logging.getLogger("rapport.notifications.worker")

CHANNEL = "rapport_changes"
# How the listening connection shows in pg_stat_activity.
APPLICATION_NAME = "rapport-worker-listen"


class Wakeup:
    """``changed`` is set when a write commits (or notices may have been missed)."""

    def __init__(self, dsn: str, *, retry_seconds: float = 1.0) -> None:
        self.dsn = dsn
        self.retry_seconds = retry_seconds
        self.changed = asyncio.Event()
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set, reconnecting after ``retry_seconds`` when cut off."""
        while not stop.is_set():
            lost = asyncio.Event()
            conn: Any = None
            try:
                conn = await asyncpg.connect(
                    self.dsn, server_settings={"application_name": APPLICATION_NAME}
                )
                conn.add_termination_listener(_setter(lost))
                await conn.add_listener(CHANNEL, self._on_notice)
                self.listening.set()
                self.changed.set()
                log.info("notifications worker listening on %s", CHANNEL)
                await wait_for_any(stop, lost)
                if lost.is_set():
                    log.warning("worker's LISTEN connection lost; polling until it is back")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("worker cannot LISTEN (%s); polling, and retrying", exc)
            finally:
                self.listening.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(OSError, asyncpg.PostgresError):
                        await conn.close()
            await wait_for_any(stop, seconds=self.retry_seconds)

    def _on_notice(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        self.changed.set()


def _setter(event: asyncio.Event) -> Any:
    return lambda _conn: event.set()


async def wait_for_any(*events: asyncio.Event | None, seconds: float | None = None) -> None:
    """Return when any of ``events`` is set, or after ``seconds``."""
    waits = [asyncio.ensure_future(event.wait()) for event in events if event is not None]
    if not waits:
        await asyncio.sleep(seconds or 0)
        return
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
