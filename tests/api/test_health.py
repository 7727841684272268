"""The process and readiness probes."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.app import create_app
from tests.conftest import make_settings, serve


async def test_healthz_and_readyz_answer_when_the_database_is_up(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).text == "ok"
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


async def test_readyz_fails_when_the_database_is_unreachable(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path), database_url="postgresql://nobody@127.0.0.1:1/none")
    async with serve(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "database unreachable"}
