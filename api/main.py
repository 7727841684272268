"""The ASGI entry point for uvicorn worker processes."""

from __future__ import annotations

from starlette.applications import Starlette

from api.app import create_app
from api.logs import configure_logging
from api.settings import Settings


def create_app_from_env() -> Starlette:
    """Build the app from RAPPORT_* variables (``rapport serve`` sets the database URL)."""
    settings = Settings()
    # Worker processes that uvicorn spawns start without the parent's logging set-up.
    configure_logging(settings.server.log_level, settings.server.log_format)
    if not settings.database.url:
        raise RuntimeError(
            "RAPPORT_DATABASE_URL is not set; start the service with `rapport serve`."
        )
    return create_app(settings, database_url=settings.database.url)
