"""GET /export/{token}: the zip of everything the link's owner keeps, streamed.

A download holds a database connection in one snapshot for as long as the client reads, so
each link works once (its start is recorded on the primary: ``store.exports``), and each
owner has at most one download at a time in this process: a pool is per process, so no owner
holds more than one of its connections. The archive is read on the replica once it has
replayed what the primary had when the download started, else on the primary.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.media import choose_media_type
from api.refusal import error_response
from model.clock import Clock
from store import exports, replica
from transfer.archive import stream_archive
from transfer.link import ExpiredLink, ExportLinks, InvalidLink

# Seconds a client is asked to wait while the owner's other download runs.
RETRY_AFTER = 10
ASK_AGAIN = "ask for a new one with requestExport"
REFUSALS = {
    exports.Start.NO_OWNER: (404, "This export link is not valid."),
    exports.Start.SESSION_ENDED: (
        410,
        "The session that asked for this export link has ended (signed out or revoked); "
        f"sign in and {ASK_AGAIN}.",
    ),
    exports.Start.USED: (410, f"This export link was used already; {ASK_AGAIN}."),
}


class Downloads:
    """The owners whose export this process is sending."""

    def __init__(self) -> None:
        self._owners: set[UUID] = set()

    def start(self, owner_id: UUID) -> bool:
        """Take the owner's one place; False if a download of theirs is running."""
        if owner_id in self._owners:
            return False
        self._owners.add(owner_id)
        return True

    def finish(self, owner_id: UUID) -> None:
        self._owners.discard(owner_id)


class ArchiveResponse(StreamingResponse):
    """A streamed archive that, however the download ends, gives its connection back to the
    pool at once (not when the generator is collected) and then calls ``on_close``."""

    def __init__(
        self,
        archive: AsyncGenerator[bytes, None],
        *,
        on_close: Callable[[], None],
        headers: dict[str, str],
    ) -> None:
        super().__init__(archive, media_type="application/zip", headers=headers)
        self._archive = archive
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                await self._archive.aclose()
            finally:
                self._on_close()


def export_route(engine: AsyncEngine, links: ExportLinks, clock: Clock) -> Route:
    downloads = Downloads()

    async def download(request: Request) -> Response:
        media_type = choose_media_type(request.headers.get("accept"))
        try:
            grant = links.verify(request.path_params["token"])
        except InvalidLink:
            return error_response(404, "This export link is not valid.", media_type=media_type)
        except ExpiredLink:
            return error_response(
                410, f"This export link has expired; {ASK_AGAIN}.", media_type=media_type
            )
        owner_id = grant.owner_id
        # Checked before the link is spent, so the same link works once the other is done.
        if not downloads.start(owner_id):
            return error_response(
                429,
                "An export of this account is downloading already; try again when it is done.",
                media_type=media_type,
                headers={"retry-after": str(RETRY_AFTER)},
            )
        try:
            now = clock.now()
            async with engine.begin() as conn:
                start = await exports.start_download(
                    conn,
                    owner_id=owner_id,
                    link_id=grant.link_id,
                    session_id=grant.session_id,
                    link_expires_at=grant.expires_at,
                    now=now,
                )
                # Past the commit record of every transaction acknowledged before this one.
                position = await replica.wal_position(conn)
        except BaseException:
            downloads.finish(owner_id)
            raise
        if start is not exports.Start.STARTED:
            downloads.finish(owner_id)
            status, message = REFUSALS[start]
            return error_response(status, message, media_type=media_type)
        archive = stream_archive(lambda: replica.snapshot_after(engine, position), owner_id, now)
        return ArchiveResponse(
            archive,
            on_close=lambda: downloads.finish(owner_id),
            headers={
                "content-disposition": f'attachment; filename="rapport-export-{now:%Y-%m-%d}.zip"',
                "cache-control": "no-store",
                "referrer-policy": "no-referrer",
            },
        )

    return Route("/export/{token}", download, methods=["GET"])
