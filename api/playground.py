"""The GraphQL playground: Rapport's own GraphiQL page and every file it loads.

Strawberry's built-in page loads React and GraphiQL from a CDN, which is a blank page without
internet. This page loads the same kind of files from the app itself: the browser (UMD) builds
of React 18, GraphiQL 3 and the graphql-ws client, pinned by ``playground/package-lock.json``
and copied out of ``playground/node_modules`` by ``python -m api.playground`` (which
``make playground`` runs after ``npm ci``). GraphiQL 3 is the newest major version that still
ships a UMD build; 4 and 5 are ES modules that would need a bundler.

When the files are missing (no Node on this machine), the page loads them from unpkg instead,
each checked against the SRI hash below, and a warning in the log says so.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
import shutil
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger("rapport.playground")

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "playground" / "node_modules"
DEFAULT_ASSETS_DIR = ROOT / "playground" / "dist"
CDN = "https://unpkg.com"
# What the headers editor starts with. The page never sends this placeholder, so an
# operation run before signing in gets the server's "sign in first" message.
PLACEHOLDER_TOKEN = "<accessToken from SignUp or signIn>"  # noqa: S105

# Asset URLs carry the version, so browsers may keep them for good.
_IMMUTABLE = "public, max-age=31536000, immutable"
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Asset:
    """One file of an npm package, pinned by version and content."""

    package: str
    version: str
    file: str
    integrity: str  # SRI: "sha384-" and the base64 digest of the file's bytes

    @property
    def path(self) -> str:
        """Where the file lives under the assets directory, and under the CDN."""
        return f"{self.package}@{self.version}/{self.file}"

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[Path(self.file).suffix]


# Keep in step with playground/package.json; a test compares them with the lockfile.
ASSETS = (
    Asset(
        "react",
        "18.3.1",
        "umd/react.production.min.js",
        "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
    ),
    Asset(
        "react-dom",
        "18.3.1",
        "umd/react-dom.production.min.js",
        "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
    ),
    Asset(
        "graphiql",
        "3.9.0",
        "graphiql.min.js",
        "sha384-8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO",
    ),
    Asset(
        "graphiql",
        "3.9.0",
        "graphiql.min.css",
        "sha384-QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2",
    ),
    Asset(
        "graphql-ws",
        "6.4.2",
        "umd/graphql-ws.min.js",
        "sha384-mxvR4Mzbsb6QVx/9xI2gtQikQA6m8zMDBFnu3l//4/ROsWt7y2sUGWd+/tYQqDm7",
    ),
)


def compute_integrity(path: Path) -> str:
    """Return the SRI hash of a file."""
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def _read_own(name: str) -> str:
    """Return one of the page's own files shipped beside this module."""
    return resources.files("api").joinpath(name).read_text(encoding="utf-8")


_PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Rapport · GraphQL playground</title>
    <link rel="icon" type="image/svg+xml" href="playground/favicon.svg">
{styles}
    <style>
      body {{ margin: 0; height: 100vh; overflow: hidden; }}
      #playground {{ height: 100vh; }}
    </style>
  </head>
  <body>
    <div id="playground">Loading the Rapport playground…</div>
    <script type="application/json" id="rapport-playground-config">{config}</script>
{scripts}
    <script src="playground/rapport.js"></script>
  </body>
</html>
"""


class Playground:
    """The page at ``GET /graphql`` and the routes of the files it loads."""

    def __init__(self, assets_dir: Path = DEFAULT_ASSETS_DIR) -> None:
        self.assets_dir = assets_dir
        missing = [asset.path for asset in ASSETS if not (assets_dir / asset.path).is_file()]
        self.local = not missing
        if self.local:
            log.info("playground: serving GraphiQL and React from %s", assets_dir)
        else:
            log.warning(
                "playground: %s not found under %s, so the page loads GraphiQL and React from "
                "%s and stays blank without internet; install Node and npm, then run "
                "`make playground` to serve them from Rapport itself",
                ", ".join(missing),
                assets_dir,
                CDN,
            )
        self.script = _read_own("playground.js")
        self.favicon = _read_own("playground.svg")
        self.html = self._render()
        # The page may reach its own origin only; the CDN is allowed just when it is used.
        origin = "'self'" if self.local else f"'self' {CDN}"
        self._policy = (
            f"default-src 'self'; script-src {origin}; style-src {origin} 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; frame-ancestors 'none'; "
            "base-uri 'none'"
        )

    def _url(self, asset: Asset) -> str:
        return f"playground/assets/{asset.path}" if self.local else f"{CDN}/{asset.path}"

    def _render(self) -> str:
        config = {
            "firstSession": _read_own("playground.graphql"),
            "defaultHeaders": json.dumps(
                {"Authorization": f"Bearer {PLACEHOLDER_TOKEN}"}, indent=2
            ),
            "placeholderToken": PLACEHOLDER_TOKEN,
        }
        # "</" cannot appear inside the JSON, so the script element cannot be closed early.
        config_json = json.dumps(config).replace("</", "<\\/")
        styles, scripts = [], []
        for asset in ASSETS:
            url = html.escape(self._url(asset))
            sri = f' integrity="{asset.integrity}" crossorigin="anonymous"'
            if asset.file.endswith(".css"):
                styles.append(f'    <link rel="stylesheet" href="{url}"{sri}>')
            else:
                scripts.append(f'    <script src="{url}"{sri}></script>')
        return _PAGE.format(
            styles="\n".join(styles), scripts="\n".join(scripts), config=config_json
        )

    def security_policy(self, request: Request) -> str:
        """Return the page's Content-Security-Policy: its own origin, HTTP and WebSocket."""
        # Not every browser lets 'self' cover WebSocket URLs, so the socket is named too.
        host = request.headers.get("host", "")
        sockets = f" ws://{host} wss://{host}" if _HOST.fullmatch(host) else ""
        return f"{self._policy}; connect-src 'self'{sockets}"

    def page(self, request: Request) -> Response:
        """Return the playground page."""
        return HTMLResponse(
            self.html,
            headers={
                "content-security-policy": self.security_policy(request),
                "x-content-type-options": "nosniff",
                "cache-control": "no-cache",
            },
        )

    def routes(self) -> list[BaseRoute]:
        """Return the routes of the page's files: its script, its icon and the npm assets."""

        async def script(request: Request) -> Response:
            return Response(
                self.script,
                media_type="text/javascript; charset=utf-8",
                headers={"cache-control": "no-cache"},
            )

        async def favicon(request: Request) -> Response:
            return Response(self.favicon, media_type="image/svg+xml")

        async def asset(request: Request) -> Response:
            # Only the pinned files are served: the path is looked up, never joined blindly.
            found = _ASSETS_BY_PATH.get(request.path_params["path"])
            if found is None or not self.local:
                return Response("Not Found", status_code=404, media_type="text/plain")
            return FileResponse(
                self.assets_dir / found.path,
                media_type=found.media_type,
                headers={"cache-control": _IMMUTABLE, "x-content-type-options": "nosniff"},
            )

        return [
            Route("/playground/rapport.js", script),
            Route("/playground/favicon.svg", favicon),
            Route("/playground/assets/{path:path}", asset),
        ]


_ASSETS_BY_PATH = {asset.path: asset for asset in ASSETS}


def copy_assets(node_modules: Path, assets_dir: Path) -> list[str]:
    """Copy the pinned files out of an npm install; return what is wrong, if anything."""
    problems = []
    for asset in ASSETS:
        source = node_modules / asset.package / asset.file
        if not source.is_file():
            problems.append(f"{source} is missing; run `npm ci` in playground/")
            continue
        actual = compute_integrity(source)
        if actual != asset.integrity:
            problems.append(
                f"{source} is not the pinned {asset.package}@{asset.version}: its hash is "
                f"{actual}; update ASSETS in api/playground.py with package.json"
            )
            continue
        target = assets_dir / asset.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return problems


def main() -> int:
    """Copy the playground's files from playground/node_modules into playground/dist."""
    problems = copy_assets(NODE_MODULES, DEFAULT_ASSETS_DIR)
    for problem in problems:
        print(f"playground: {problem}", file=sys.stderr)
    if not problems:
        print(f"playground: {len(ASSETS)} files in {DEFAULT_ASSETS_DIR}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
