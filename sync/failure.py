"""How a push tells a mutation that can never apply from a failure worth retrying.

A mutation the rules refuse is rejected alone, and so is one that fails in a way nobody
foresaw: resending it would fail the same way for ever and wedge the device. A failure of the
database itself (the connection lost, a serialization failure, a deadlock) says nothing about
the mutation, so it fails the whole push and the device resends it later.
"""

from __future__ import annotations

import unicodedata

from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

# SQLSTATE classes and codes that are about the database's state, not the statement's input:
# connection exceptions (08), transaction rollbacks such as serialization failures and
# deadlocks (40), insufficient resources (53), operator intervention such as a shutdown or a
# statement timeout (57), lock not available (55P03) and system errors (58).
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
_TRANSIENT_CODES = ("55P03",)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying the same push later could succeed where this attempt failed."""
    if isinstance(exc, OSError | TimeoutError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, InterfaceError | OperationalError):
            return True
        code = getattr(exc.orig, "sqlstate", None) or ""
        return code.startswith(_TRANSIENT_CLASSES) or code in _TRANSIENT_CODES
    return False


def printable(text: str) -> str:
    """Return text with control characters and lone surrogates escaped (``\\x00``).

    A reason quotes what the device sent, and PostgreSQL cannot store a NUL character (nor
    UTF-8 encode a lone surrogate): stored raw, the record of a rejection would itself fail.
    """
    return "".join(ascii(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cs") else c for c in text)
