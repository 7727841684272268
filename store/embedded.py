"""An embedded PostgreSQL (the ``pgserver`` package) for development and tests."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or reuse) a PostgreSQL server keeping its data in ``data_dir``; return its URL.

    The server is stopped when the process that started it exits. The second value is the
    server handle; keep a reference to it for as long as the database is needed.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as in CI); it falls back safely.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
    return str(server.get_uri()), server
