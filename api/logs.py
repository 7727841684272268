"""Log lines of a readable length, whatever a client sent.

A value from a request (a time zone of a million characters, a token, a query) can reach a
log line through a message argument or an exception's text. ``ShortLinesFormatter`` cuts each
argument, the message and each line of a traceback to ``MAX_VALUE`` characters and says how
much it left out, so one request can neither flood the log nor hide the lines around it.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from typing import Any

import uvicorn.config
import uvicorn.logging

MAX_VALUE = 1_000
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def shorten(text: str, limit: int = MAX_VALUE) -> str:
    """Return ``text`` cut to ``limit`` characters, with a marker saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit:,} more characters cut]"


def _shorten_argument(value: Any) -> Any:
    # Numbers keep their type for %d and %f; anything else that prints long is cut.
    if isinstance(value, int | float):
        return value
    text = str(value)
    return shorten(text) if len(text) > MAX_VALUE else value


class ShortLines(logging.Formatter):
    """Format records with every argument, the message and each traceback line cut short."""

    def format(self, record: logging.LogRecord) -> str:
        # A copy: other handlers of the same record still see it whole.
        short = logging.makeLogRecord(record.__dict__)
        if isinstance(short.msg, str):
            short.msg = shorten(short.msg)
        if isinstance(short.args, Mapping):
            short.args = {key: _shorten_argument(v) for key, v in short.args.items()}
        elif isinstance(short.args, tuple):
            short.args = tuple(_shorten_argument(v) for v in short.args)
        return super().format(short)

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        text = super().formatException(ei)
        return "\n".join(shorten(line) for line in text.splitlines())


class ShortLinesFormatter(ShortLines):
    """Rapport's own lines."""


class ShortDefaultFormatter(ShortLines, uvicorn.logging.DefaultFormatter):
    """uvicorn's server lines."""


# Paths that are their own secret: a calendar feed's (api/calendar_feed.py) and an export
# link's (api/export.py), either of which would hand the account's data to a log reader.
# Access lines keep 4 characters of them.
_SECRET_PATHS = (
    re.compile(r"^(/calendar/[^/?]{4})[^/?]*(\.ics)"),
    re.compile(r"^(/export/[^/?]{4})[^/?]*()"),
)


def hide_path_secret(path: str) -> str:
    """Return a request path with a calendar feed's or export link's secret cut short."""
    for pattern in _SECRET_PATHS:
        path = pattern.sub(r"\1…\2", path)
    return path


class HideFeedSecret(logging.Formatter):
    """uvicorn's access lines with a calendar feed's secret cut (text and JSON alike)."""

    def format(self, record: logging.LogRecord) -> str:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            # uvicorn's (client, method, path, http version, status).
            record = logging.makeLogRecord(record.__dict__)
            record.args = (*args[:2], hide_path_secret(args[2]), *args[3:])
        return super().format(record)


class ShortAccessFormatter(HideFeedSecret, ShortLines, uvicorn.logging.AccessFormatter):
    """uvicorn's access lines (the request line holds the client's path and query)."""


def uvicorn_log_config(log_format: str = "text") -> dict[str, Any]:
    """Return uvicorn's logging configuration with its formatters cutting lines short."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    if log_format == "json":
        from api.jsonlog import JsonAccessFormatter, JsonLinesFormatter

        config["formatters"]["default"] = {"()": JsonLinesFormatter}
        config["formatters"]["access"] = {"()": JsonAccessFormatter}
        return config
    config["formatters"]["default"]["()"] = ShortDefaultFormatter
    config["formatters"]["access"]["()"] = ShortAccessFormatter
    return config


def line_formatter(log_format: str = "text") -> logging.Formatter:
    """The formatter of Rapport's own lines: text, or one JSON object a line."""
    if log_format == "json":
        from api.jsonlog import JsonLinesFormatter

        return JsonLinesFormatter()
    return ShortLinesFormatter(FORMAT)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr at ``level``, every line cut short, as text or JSON; idempotent."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    root = logging.getLogger()
    root.setLevel(level.upper())
    formatter = line_formatter(log_format)
    for handler in root.handlers:
        if type(handler.formatter) is not type(formatter):
            handler.setFormatter(formatter)
    # Their INFO lines narrate internals (plugin set-up, pg_ctl command lines), not events.
    for chatty in ("pgserver", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
