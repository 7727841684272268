"""GET /export/{token}: the zip of everything the link's owner keeps, streamed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from api.media import choose_media_type
from api.refusal import error_response
from model.clock import Clock
from store import tables
from transfer.archive import stream_archive
from transfer.link import ExpiredLink, ExportLinks, InvalidLink


def export_route(engine: AsyncEngine, links: ExportLinks, clock: Clock) -> Route:
    async def download(request: Request) -> Response:
        media_type = choose_media_type(request.headers.get("accept"))
        try:
            owner_id = links.verify(request.path_params["token"])
        except InvalidLink:
            return error_response(404, "This export link is not valid.", media_type=media_type)
        except ExpiredLink:
            return error_response(
                410,
                "This export link has expired; ask for a new one with requestExport.",
                media_type=media_type,
            )
        async with engine.connect() as conn:
            exists = await conn.scalar(
                sa.select(tables.users.c.id).where(tables.users.c.id == owner_id)
            )
        if exists is None:  # the account was deleted after the link was made
            return error_response(404, "This export link is not valid.", media_type=media_type)
        now = clock.now()
        return StreamingResponse(
            stream_archive(engine, owner_id, now),
            media_type="application/zip",
            headers={
                "content-disposition": f'attachment; filename="rapport-export-{now:%Y-%m-%d}.zip"',
                "cache-control": "no-store",
                "referrer-policy": "no-referrer",
            },
        )

    return Route("/export/{token}", download, methods=["GET"])
