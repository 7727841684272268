"""The playground at GET /graphql: Rapport's own page, its files, the CDN fallback, the off switch.

These run without Node: the npm files are stood in for by small files at the same paths (what
is tested is how Rapport serves them). The page in a real browser is tests/e2e's job.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest

from api import playground
from api.app import create_app
from api.settings import Settings
from schema import build_schema
from tests.api.test_readme import graphql_blocks
from tests.conftest import make_settings, serve

ROOT = Path(__file__).resolve().parents[2]
HTML = {"accept": "text/html"}


@asynccontextmanager
async def client_for(
    api_db: str, tmp_path: Path, **graphql: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(tmp_path, graphql=graphql), database_url=api_db)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def stand_in_assets(directory: Path) -> dict[str, bytes]:
    """Write a small file at each pinned asset's path; return the bytes by path."""
    written = {}
    for asset in playground.ASSETS:
        content = f"/* stand-in for {asset.path} */\n".encode()
        target = directory / asset.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written[asset.path] = content
    return written


def page_config(page: str) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="rapport-playground-config">(.*?)</script>',
        page,
        flags=re.DOTALL,
    )
    assert found is not None, page
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def loaded_urls(page: str) -> list[str]:
    return re.findall(r'<(?:script src|link rel="stylesheet" href)="([^"]+)"', page)


async def test_the_page_and_every_file_it_loads_come_from_rapport(
    api_db: str, tmp_path: Path
) -> None:
    assets = stand_in_assets(tmp_path / "assets")
    async with client_for(api_db, tmp_path, playground_assets=tmp_path / "assets") as client:
        response = await client.get("/graphql", headers=HTML)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        page = response.text
        assert "<title>Rapport · GraphQL playground</title>" in page
        assert '<link rel="icon" type="image/svg+xml" href="playground/favicon.svg">' in page
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "https:" not in policy
        host = client.base_url.netloc.decode()
        assert policy.endswith(f"connect-src 'self' ws://{host} wss://{host}")
        # A Host header is the client's to send: it never adds sources of its own.
        forged = await client.get("/graphql", headers={**HTML, "host": "x; script-src *"})
        assert forged.headers["content-security-policy"].endswith("connect-src 'self'")

        urls = loaded_urls(page)
        assert sorted(urls) == sorted(
            [f"playground/assets/{a.path}" for a in playground.ASSETS] + ["playground/rapport.js"]
        )
        assert urls[-1] == "playground/rapport.js"  # after the globals it uses
        for asset in playground.ASSETS:
            served = await client.get(f"/playground/assets/{asset.path}")
            assert served.status_code == 200, asset.path
            assert served.content == assets[asset.path]
            kind = "text/css" if asset.file.endswith(".css") else "text/javascript"
            assert served.headers["content-type"] == f"{kind}; charset=utf-8"
            assert "immutable" in served.headers["cache-control"]
            assert served.headers["x-content-type-options"] == "nosniff"

        script = await client.get("/playground/rapport.js")
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "graphqlWs.createClient" in script.text
        icon = await client.get("/playground/favicon.svg")
        assert icon.headers["content-type"] == "image/svg+xml"
        assert "<title>Rapport</title>" in icon.text

        # Only the pinned files are served, however the path is spelled.
        for path in (
            "/playground/assets/graphiql@3.9.0/package.json",
            "/playground/assets/..%2F..%2Fpyproject.toml",
            "/playground/assets/../../pyproject.toml",
        ):
            assert (await client.get(path)).status_code == 404, path

        # The endpoint itself is unchanged.
        answer = await client.post("/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}


async def test_without_the_files_the_page_loads_them_from_the_cdn_and_says_so(
    api_db: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rapport.playground"):
        async with client_for(api_db, tmp_path, playground_assets=tmp_path / "none") as client:
            response = await client.get("/graphql", headers=HTML)
            missing = await client.get(f"/playground/assets/{playground.ASSETS[0].path}")
    warning = next(r.getMessage() for r in caplog.records if r.name == "rapport.playground")
    assert "https://unpkg.com" in warning
    assert "make playground" in warning
    assert str(tmp_path / "none") in warning

    page = response.text
    for asset in playground.ASSETS:
        tag = f'"https://unpkg.com/{asset.path}" integrity="{asset.integrity}"'
        assert tag in page, asset.path
    assert "script-src 'self' https://unpkg.com;" in response.headers["content-security-policy"]
    assert missing.status_code == 404
    # Rapport's own parts are still served by Rapport.
    assert loaded_urls(page)[-1] == "playground/rapport.js"


async def test_the_playground_can_be_turned_off(api_db: str, tmp_path: Path) -> None:
    async with client_for(api_db, tmp_path, playground=False) as client:
        assert (await client.get("/graphql", headers=HTML)).status_code == 404
        assert (await client.get("/playground/rapport.js")).status_code == 404
        assert (await client.get("/playground/favicon.svg")).status_code == 404
        answer = await client.post("/graphql", json={"query": "{ __typename }"})
        assert answer.json() == {"data": {"__typename": "Query"}}


def test_the_switch_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RAPPORT_PLAYGROUND", "RAPPORT_GRAPHIQL", "RAPPORT_ENV"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().playground_on is True
    monkeypatch.setenv("RAPPORT_PLAYGROUND", "false")
    assert Settings().playground_on is False
    monkeypatch.setenv("RAPPORT_ENV", "production")
    monkeypatch.delenv("RAPPORT_PLAYGROUND")
    assert Settings().playground_on is False
    monkeypatch.setenv("RAPPORT_GRAPHIQL", "true")  # the older name still works
    assert Settings().playground_on is True
    monkeypatch.setenv("RAPPORT_PLAYGROUND", "false")  # and the new one wins
    assert Settings().playground_on is False


async def test_the_first_tab_is_the_readmes_first_session(http: httpx.AsyncClient) -> None:
    config = page_config((await http.get("/graphql", headers=HTML)).text)
    first_tab = config["firstSession"]
    for block in graphql_blocks():
        assert block in first_tab
    document = graphql.parse(first_tab)
    assert graphql.validate(build_schema()._schema, document) == []
    names = [
        d.name.value
        for d in document.definitions
        if isinstance(d, graphql.OperationDefinitionNode) and d.name
    ]
    assert names == ["SignUp", "CreateContact", "LogInteraction", "Contacts"]
    # The headers editor starts with the header's shape; the page never sends the placeholder.
    headers = json.loads(config["defaultHeaders"])
    assert headers == {"Authorization": f"Bearer {config['placeholderToken']}"}


def test_the_pinned_files_are_the_lockfiles_versions() -> None:
    manifest = json.loads((ROOT / "playground" / "package.json").read_text())
    lock = json.loads((ROOT / "playground" / "package-lock.json").read_text())
    for asset in playground.ASSETS:
        assert manifest["dependencies"][asset.package] == asset.version
        assert lock["packages"][f"node_modules/{asset.package}"]["version"] == asset.version


def test_copying_refuses_files_that_are_not_the_pinned_ones(tmp_path: Path) -> None:
    node_modules, target = tmp_path / "node_modules", tmp_path / "dist"
    react = playground.ASSETS[0]
    (node_modules / react.package / react.file).parent.mkdir(parents=True)
    (node_modules / react.package / react.file).write_text("/* some other React */")
    problems = playground.copy_assets(node_modules, target)
    assert len(problems) == len(playground.ASSETS)
    assert f"is not the pinned react@{react.version}" in problems[0]
    assert "run `npm ci` in playground/" in problems[1]
    assert not target.exists()
