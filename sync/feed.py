"""Change notices across processes: one LISTEN connection per process, fanned out per owner.

Writers announce ``{"owner", "version", "epoch"}`` on the ``rapport_changes`` channel when they
commit (``sync.writer``). Each API process keeps one connection listening and hands each
notice to the subscriptions of that owner. If the connection drops, it reconnects and pokes
every subscriber, because notices sent meanwhile are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from sync.cursor import BOUNDARY, Position, encode_cursor
from sync.writer import CHANNEL

log = logging.getLogger("rapport.sync.feed")


@dataclass(frozen=True)
class Notice:
    version: int | None  # None: notices may have been missed; pull to catch up
    epoch: UUID | None
    origin: str | None = None  # the client whose push caused it, if any


@dataclass(frozen=True)
class Poke:
    """Pull now: from ``cursor`` when set (the position of the change), else from yours."""

    cursor: str | None
    version: int | None


def _setter(event: asyncio.Event) -> Any:
    return lambda _conn: event.set()


class ChangeFeed:
    def __init__(self, dsn: str, *, retry_seconds: float = 1.0) -> None:
        self.dsn = dsn
        self.retry_seconds = retry_seconds
        self._subscribers: dict[UUID, set[asyncio.Queue[Notice]]] = defaultdict(set)
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._connected = asyncio.Event()

    async def start(self) -> None:
        """Start listening in the background; the app serves even while the database is away."""
        self._task = asyncio.create_task(self._run(), name="rapport-change-feed")

    async def wait_connected(self) -> None:
        await self._connected.wait()

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()

    async def _run(self) -> None:
        first = True
        while not self._stopping.is_set():
            lost = asyncio.Event()
            try:
                self._conn = await asyncpg.connect(self.dsn)
                self._conn.add_termination_listener(_setter(lost))
                await self._conn.add_listener(CHANNEL, self._on_notice)
                self._connected.set()
                if not first:
                    log.info("change feed reconnected; poking every subscriber")
                    self._broadcast(Notice(None, None))
                first = False
                await lost.wait()
                log.warning("change feed connection lost; reconnecting")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("change feed cannot listen (%s); retrying", exc)
            await asyncio.sleep(self.retry_seconds)

    def _on_notice(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
            owner = UUID(data["owner"])
            notice = Notice(int(data["version"]), UUID(data["epoch"]), data.get("origin"))
        except (ValueError, KeyError, TypeError):
            log.error("ignoring malformed change notice %r", payload)
            return
        for queue in self._subscribers.get(owner, ()):
            queue.put_nowait(notice)

    def _broadcast(self, notice: Notice) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(notice)

    @contextlib.asynccontextmanager
    async def subscribe(self, owner_id: UUID) -> AsyncIterator[asyncio.Queue[Notice]]:
        """Receive the owner's notices for as long as the block runs."""
        queue: asyncio.Queue[Notice] = asyncio.Queue()
        self._subscribers[owner_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[owner_id].discard(queue)
            if not self._subscribers[owner_id]:
                del self._subscribers[owner_id]

    async def pokes(self, owner_id: UUID, client_id: str) -> AsyncIterator[Poke]:
        """Poke one client: once at once (changes made before it listened count too), then
        on each of the owner's changes but the client's own pushes, which it learns of from
        its pull."""
        async with self.subscribe(owner_id) as queue:
            yield Poke(cursor=None, version=None)
            while True:
                notice = await queue.get()
                if notice.origin is not None and notice.origin == client_id:
                    continue
                cursor = (
                    None
                    if notice.epoch is None or notice.version is None
                    else encode_cursor(notice.epoch, Position(notice.version, BOUNDARY, ()))
                )
                yield Poke(cursor=cursor, version=notice.version)
