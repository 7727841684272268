"""Pull cursors: where a device is in its owner's change feed.

A cursor names the owner's epoch, a version, and, when a page ended inside a version, the
entity rank and key of the last row delivered. Clients treat it as opaque. A cursor from
another epoch (the owner's data was rebuilt) decodes to None, which tells the client to reset.
"""

from __future__ import annotations

import base64
import binascii
from typing import NamedTuple
from uuid import UUID

# The rank after every entity: the cursor sits between two versions.
BOUNDARY = 99
_PREFIX = "v1"


class InvalidCursor(ValueError):
    """The cursor is not one this server issued; pull again without a cursor."""


class Position(NamedTuple):
    version: int
    rank: int
    key: tuple[str, ...]
    # Inside a first sync that began at this version: rows deleted by then are skipped (the
    # device never had them); 0 once the first sync is done.
    initial_until: int = 0


def encode_cursor(epoch: UUID, position: Position) -> str:
    parts = [
        _PREFIX,
        epoch.hex,
        str(position.version),
        str(position.rank),
        ":".join(position.key),
        str(position.initial_until),
    ]
    return base64.urlsafe_b64encode(".".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, epoch: UUID) -> Position | None:
    """Return the position a cursor names; None when it is from another epoch."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, cursor_epoch, version, rank, key, initial = (
            base64.urlsafe_b64decode(padded.encode()).decode().split(".")
        )
        keys = tuple(key.split(":")) if key else ()
        position = Position(int(version), int(rank), keys, int(initial))
        for part in position.key:
            UUID(part)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor(cursor) from None
    if prefix != _PREFIX or position.version < 0:
        raise InvalidCursor(cursor)
    if cursor_epoch != epoch.hex:
        return None
    return position
