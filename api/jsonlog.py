"""``RAPPORT_LOG_FORMAT=json``: one JSON object per line, with the request it belongs to.

Each line has ``time``, ``level``, ``logger`` and ``message``, and, when logged while a
request runs, ``request_id``, ``operation`` (the GraphQL operation name) and ``owner``: a
SHA-256 digest of the signed-in user's id, so lines of one user can be followed without the
log naming them. Values are cut short as in the text format (api/logs.py). Nothing else of
a record is written: fields passed with ``extra=`` are dropped, so a caller cannot put a token
or a note into a line by accident.
"""

from __future__ import annotations

import hashlib
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from api.logs import HideFeedSecret, ShortLines

_request_id: ContextVar[str | None] = ContextVar("rapport_request_id", default=None)
_operation: ContextVar[str | None] = ContextVar("rapport_operation", default=None)
_owner: ContextVar[str | None] = ContextVar("rapport_owner", default=None)

FIELDS = ("time", "level", "logger", "message", "request_id", "operation", "owner")
_TRACES = ("exc_info", "stack_info")


def hash_owner(owner_id: object) -> str:
    """The digest logged for a user: the same for every line of theirs, and not their id."""
    return hashlib.sha256(f"rapport-owner:{owner_id}".encode()).hexdigest()[:16]


def bind_request(request_id: str | None) -> None:
    _request_id.set(request_id)


def bind_operation(name: str | None) -> None:
    _operation.set(name)


def bind_owner(owner_id: object | None) -> None:
    _owner.set(None if owner_id is None else hash_owner(owner_id))


class JsonLinesFormatter(ShortLines, JsonFormatter):
    """One JSON object per record, its values cut short as the text lines' are."""

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "message"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            # UTF-8 as it is: escaped, a cut value could still be six times as long.
            json_ensure_ascii=False,
            # Every other attribute of a record is reserved: never written.
            reserved_attrs=[*logging.makeLogRecord({}).__dict__, "color_message", "message"],
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in [k for k in log_data if k not in FIELDS and k not in _TRACES]:
            del log_data[key]
        for key, var in (("request_id", _request_id), ("operation", _operation), ("owner", _owner)):
            value = var.get()
            if value is not None:
                log_data[key] = value

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        # ISO 8601 in UTC with milliseconds, as log stores parse it.
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonAccessFormatter(HideFeedSecret, JsonLinesFormatter):
    """uvicorn's access lines as JSON, a calendar feed's secret cut as in the text format."""
